"""Item-based collaborative filtering: item kNN, "customers also bought", EASE, and the selector.

All three learn a top-K neighbour list per item (see :class:`NeighborModel`), so they serve
the same way: a customer's scores are their history items' neighbour lists, weighted.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .base import REASON_ALSO_BOUGHT, REASON_CF
from .neighbors import NeighborModel
from .topk import DEFAULT_BLOCK_NNZ, blocked_top_k, top_k_dense_rows

SIMILARITIES = ("cosine", "jaccard", "asymmetric_cosine", "bm25")


def bm25_weight(user_items: sp.spmatrix, *, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Return the item x user matrix with BM25 weights (items are documents, users are terms).

    Users who touched many items get a low idf; items with many events are length-normalised.
    """
    return bm25_user_items(user_items, k1=k1, b=b).T.tocsr()


def bm25_user_items(user_items: sp.spmatrix, *, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Return :func:`bm25_weight`'s weights laid out user x item, as the input (float32).

    Weighting is per stored value, so it is computed where the values already lie: no
    transpose, and the item x user side costs one.
    """
    user_items = sp.csr_matrix(user_items)
    n_users, n_items = user_items.shape
    user_df = np.diff(user_items.indptr)
    idf = np.log(n_items) - np.log1p(user_df)
    lengths = np.bincount(user_items.indices, weights=user_items.data, minlength=n_items)
    average = lengths.mean() if lengths.size and lengths.mean() > 0 else 1.0
    norm = (1.0 - b) + b * lengths / average
    tf = user_items.data.astype(np.float64)
    weighted = tf * (k1 + 1.0) / (k1 * norm[user_items.indices] + tf) * np.repeat(idf, user_df)
    return sp.csr_matrix(
        (weighted.astype(np.float32), user_items.indices, user_items.indptr), shape=user_items.shape
    )


class ItemKNN(NeighborModel):
    """Item-based CF with sparse top-K neighbours computed block by block.

    ``similarity``:
      - ``"cosine"``: cosine of the weighted item columns;
      - ``"jaccard"``: co-occurrence count / (count_i + count_j - co-occurrence), binary;
      - ``"asymmetric_cosine"``: co-occurrence / (count_i ** alpha * count_j ** (1 - alpha)), binary
        (alpha 0.5 is binary cosine);
      - ``"bm25"``: dot product of BM25-weighted item vectors (``bm25_k1``, ``bm25_b``).
    ``shrink`` damps similarities built on few co-occurrences: sim * c / (c + shrink) (binary
    similarities only). ``power`` raises every similarity to a power before the top-K
    (values > 1 favour the strongest neighbours).
    """

    reason = REASON_CF

    def __init__(
        self,
        similarity: str = "bm25",
        k: int = 100,
        *,
        alpha: float = 0.5,
        shrink: float = 0.0,
        power: float = 1.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        n_jobs: int = 2,
        block_nnz: int = DEFAULT_BLOCK_NNZ,
    ):
        self.similarity = similarity
        self.k = k
        self.alpha = alpha
        self.shrink = shrink
        self.power = power
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.n_jobs = n_jobs
        self.block_nnz = block_nnz

    def fit(self, user_items: sp.spmatrix) -> "ItemKNN":
        """Learn the neighbour lists from a (weighted) user x item matrix."""
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"unknown similarity {self.similarity!r}; expected one of {SIMILARITIES}")
        if int(self.k) < 1:
            raise ValueError("k must be at least 1")
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        user_items.eliminate_zeros()
        k = int(self.k)
        transform = None
        if self.similarity == "bm25":
            right = bm25_user_items(user_items, k1=self.bm25_k1, b=self.bm25_b)
            left = right.T.tocsr()
        elif self.similarity == "cosine":
            item_users = user_items.T.tocsr()
            norms = np.sqrt(np.asarray(item_users.multiply(item_users).sum(axis=1)).ravel())
            inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            left = sp.diags(inverse.astype(np.float32)) @ item_users
            left = left.tocsr()
            right = left.T.tocsr()
        else:
            binary = user_items.copy()
            binary.data[:] = 1.0
            left = binary.T.tocsr()
            right = binary
            counts = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
            transform = self._binary_transform(counts)
        if self.power != 1.0 and transform is None:
            power = float(self.power)

            def transform(block, rows, cols):  # noqa: ARG001 - fixed signature
                np.power(block.data, power, out=block.data)

        neighbors, scores = blocked_top_k(
            left, right, k, transform=transform, block_nnz=int(self.block_nnz), n_jobs=int(self.n_jobs)
        )
        self._set_neighbors(neighbors, scores)
        return self

    def _binary_transform(self, counts: np.ndarray):
        similarity, alpha, shrink, power = self.similarity, float(self.alpha), float(self.shrink), float(self.power)

        def transform(block: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> None:
            together = block.data.astype(np.float64)
            if similarity == "jaccard":
                values = together / (counts[rows] + counts[cols] - together)
            else:
                values = together / (counts[rows] ** alpha * counts[cols] ** (1.0 - alpha))
            if shrink:
                values *= together / (together + shrink)
            if power != 1.0:
                values **= power
            block.data[:] = values

        return transform


class CoPurchaseModel(ItemKNN):
    """"Customers also bought": item kNN over purchase and add-to-cart events only.

    Fit it on a matrix built from those two kinds; its recommendations carry the
    ``also_bought`` reason.
    """

    reason = REASON_ALSO_BOUGHT

    def __init__(self, similarity: str = "asymmetric_cosine", k: int = 50, **options):
        super().__init__(similarity, k, **options)


class EASE(NeighborModel):
    """EASE (Steck 2019): closed-form item-item regression with a zero diagonal.

    Solves ``B = I - P / diag(P)`` with ``P = (X^T X + l2 I)^-1`` on a dense float32
    m x m Gram matrix (memory ~ 3 * 4 * m^2 bytes while fitting), then keeps only the
    ``k`` largest weights per item in magnitude (negative ones kept: dropping them costs
    more nDCG than dropping small positive ones) so the artifact and serving are like item kNN. Only for
    catalogues of at most ``max_items`` items; :func:`make_cf_model` picks it by size.
    ``binary`` fits on 0/1 interactions instead of the weights.
    """

    reason = REASON_CF

    def __init__(self, l2: float = 500.0, k: int = 200, *, max_items: int = 15_000, binary: bool = False):
        self.l2 = l2
        self.k = k
        self.max_items = max_items
        self.binary = binary

    def fit(self, user_items: sp.spmatrix) -> "EASE":
        """Learn the (pruned) item-item weights from a user x item matrix."""
        user_items = sp.csr_matrix(user_items, dtype=np.float32)
        n_items = user_items.shape[1]
        if n_items > int(self.max_items):
            raise ValueError(
                f"EASE needs a dense {n_items} x {n_items} matrix; max_items is {self.max_items}: use ItemKNN"
            )
        if self.binary:
            user_items = user_items.copy()
            user_items.data[:] = 1.0
        weights = self.solve(user_items, float(self.l2))
        neighbors, scores = top_k_dense_rows(weights, int(self.k), by_magnitude=True)
        self._set_neighbors(neighbors, scores)
        return self

    @staticmethod
    def solve(user_items: sp.csr_matrix, l2: float) -> np.ndarray:
        """Return the full dense EASE weight matrix B (float32, zero diagonal)."""
        n_items = user_items.shape[1]
        gram = np.zeros((n_items, n_items), dtype=np.float32)
        item_users = user_items.T.tocsr()
        for start in range(0, n_items, 2048):
            gram[:, start : start + 2048] = (item_users @ user_items[:, start : start + 2048]).toarray()
        gram[np.diag_indices(n_items)] += l2
        inverse = _spd_inverse_inplace(gram)
        del gram
        diagonal = np.diag(inverse).copy()
        inverse /= -diagonal[None, :]
        inverse[np.diag_indices(n_items)] = 0.0
        return inverse


def _spd_inverse_inplace(matrix: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Invert a symmetric positive definite float32 matrix in its own memory (Cholesky).

    The transpose of a C-ordered symmetric matrix is the same matrix in Fortran order, so
    LAPACK works on it without a copy; only one triangle is filled, then mirrored in chunks.
    """
    n = matrix.shape[0]
    fortran = matrix.T
    factor, info = scipy.linalg.lapack.spotrf(fortran, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE Gram matrix is not positive definite (info {info})")
    inverse, info = scipy.linalg.lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE inversion failed (info {info})")
    result = inverse.T  # C order again; its lower triangle holds the values
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        # Upper part of these rows (columns >= stop) mirrors the lower part of those columns.
        result[start:stop, stop:] = result[stop:, start:stop].T
        block = result[start:stop, start:stop]
        block[...] = np.tril(block) + np.tril(block, -1).T
    return result


#: CF defaults chosen on the MovieLens benchmark (see movielens.py); training's DEFAULT_PARAMS includes them.
DEFAULT_CF_PARAMS: dict[str, Any] = {
    "cf_model": "auto",  # "auto": EASE up to ease_max_items products, item kNN beyond; or "ease", "item_knn"
    "ease_max_items": 15_000,
    "ease_l2": 500.0,
    "ease_k": 200,
    "similarity": "bm25",
    "k": 100,
    "alpha": 0.5,
    "shrink": 0.0,
    "power": 1.0,
    "n_jobs": 2,
}


def cf_choice(n_items: int, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return which CF model a catalogue of ``n_items`` gets, and why (JSON-able, for the record)."""
    settings = {**DEFAULT_CF_PARAMS, **(params or {})}
    wanted = settings["cf_model"]
    limit = int(settings["ease_max_items"])
    if wanted not in ("auto", "ease", "item_knn"):
        raise ValueError(f"unknown cf_model {wanted!r}; expected auto, ease or item_knn")
    if wanted == "ease" and n_items > limit:
        raise ValueError(f"cf_model 'ease' asked for {n_items} items, above ease_max_items {limit}")
    if wanted == "auto":
        kind = "ease" if n_items <= limit else "item_knn"
        why = f"{n_items} items {'<=' if kind == 'ease' else '>'} ease_max_items {limit}"
    else:
        kind, why = wanted, "set by cf_model"
    if kind == "ease":
        model_params = {"l2": float(settings["ease_l2"]), "k": int(settings["ease_k"])}
    else:
        model_params = {
            "similarity": settings["similarity"],
            "k": int(settings["k"]),
            "alpha": float(settings["alpha"]),
            "shrink": float(settings["shrink"]),
            "power": float(settings["power"]),
        }
    return {"model": kind, "reason": why, "params": model_params}


def make_cf_model(n_items: int, params: Mapping[str, Any] | None = None) -> tuple[NeighborModel, dict[str, Any]]:
    """Return an unfitted CF model for a catalogue size, and the choice record from :func:`cf_choice`.

    EASE for catalogues up to ``ease_max_items`` (dense m x m float32 while fitting, then
    pruned to ``ease_k`` per item), item kNN beyond.
    """
    settings = {**DEFAULT_CF_PARAMS, **(params or {})}
    choice = cf_choice(n_items, settings)
    if choice["model"] == "ease":
        model: NeighborModel = EASE(max_items=int(settings["ease_max_items"]), **choice["params"])
    else:
        model = ItemKNN(n_jobs=int(settings["n_jobs"]), **choice["params"])
    return model, choice
