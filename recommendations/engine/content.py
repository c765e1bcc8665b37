"""Content similarity: TF-IDF over product text, top-K neighbours by cosine in sparse blocks."""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .base import REASON_CONTENT
from .neighbors import NeighborModel
from .topk import DEFAULT_BLOCK_NNZ, blocked_top_k


def product_texts(
    titles: Sequence[str],
    categories: Optional[Sequence[str]] = None,
    descriptions: Optional[Sequence[str]] = None,
) -> list[str]:
    """Return one text per product: title, category and description joined (missing parts skipped)."""
    n = len(titles)
    parts: list[Iterable] = [titles]
    if categories is not None:
        parts.append(categories)
    if descriptions is not None:
        parts.append(descriptions)
    texts = []
    for fields in zip(*parts):
        texts.append(" . ".join(str(f) for f in fields if f is not None and f == f and str(f).strip()))
    if len(texts) != n:
        raise ValueError("titles, categories and descriptions differ in length")
    return texts


class ContentModel(NeighborModel):
    """TF-IDF (sublinear tf, English stop words, uni+bigrams) cosine neighbours per product.

    ``max_df`` drops terms in more than that share of products, and ``max_df_count`` terms in
    more than that many: they say little about similarity (low idf) and dominate the cost of
    the sparse Gram product, which grows with the sum of squared document frequencies (at
    100,000 demo products a 0.5 cut alone costs ~4x the time of the 10,000 cap). The
    vectoriser is not kept: serving needs only the neighbour lists.
    """

    reason = REASON_CONTENT
    _state_scalars = ("n_terms_",)

    def __init__(
        self,
        k: int = 50,
        *,
        max_df: float = 0.5,
        max_df_count: Optional[int] = 10_000,
        min_df: int = 1,
        ngram_range: tuple[int, int] = (1, 2),
        max_features: Optional[int] = None,
        sublinear_tf: bool = True,
        stop_words: Optional[str] = "english",
        n_jobs: int = 2,
        block_nnz: int = DEFAULT_BLOCK_NNZ,
    ):
        self.k = k
        self.max_df = max_df
        self.max_df_count = max_df_count
        self.min_df = min_df
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.stop_words = stop_words
        self.n_jobs = n_jobs
        self.block_nnz = block_nnz

    @classmethod
    def _params_from_json(cls, params):
        return {**params, "ngram_range": tuple(params["ngram_range"])}

    def vectorizer(self, n_documents: Optional[int] = None) -> TfidfVectorizer:
        """Return the configured (unfitted) TF-IDF vectoriser for ``n_documents`` products."""
        max_df = self.max_df
        if self.max_df_count is not None and n_documents:
            limit = max(int(self.max_df * n_documents) if isinstance(max_df, float) else int(max_df), 1)
            if int(self.max_df_count) < limit:
                max_df = max(int(self.max_df_count), int(self.min_df))
        return TfidfVectorizer(
            max_df=max_df,
            min_df=self.min_df,
            ngram_range=tuple(self.ngram_range),
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            stop_words=self.stop_words,
            norm="l2",
            dtype=np.float32,
        )

    def transform_texts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Return the L2-normalised TF-IDF matrix (items x terms); all zeros if no term survives."""
        texts = ["" if t is None else str(t) for t in texts]
        try:
            return self.vectorizer(len(texts)).fit_transform(texts).tocsr()
        except ValueError as error:
            # Empty vocabulary (no text, or every term cut by max_df/min_df/stop words).
            if "empty vocabulary" in str(error) or "no terms remain" in str(error) or "max_df" in str(error):
                return sp.csr_matrix((len(texts), 0), dtype=np.float32)
            raise

    def fit(self, texts: Sequence[str]) -> "ContentModel":
        """Learn neighbour lists from one text per item (see :func:`product_texts`)."""
        if int(self.k) < 1:
            raise ValueError("k must be at least 1")
        tfidf = self.transform_texts(texts)
        self.n_terms_ = int(tfidf.shape[1])
        neighbors, scores = blocked_top_k(
            tfidf, tfidf.T.tocsr(), int(self.k), block_nnz=int(self.block_nnz), n_jobs=int(self.n_jobs)
        )
        self._set_neighbors(neighbors, scores)
        return self

    def with_neighbors(self, n_terms: int, neighbors: np.ndarray, scores: np.ndarray) -> "ContentModel":
        """Return this model fitted from neighbour lists computed elsewhere (the blocks of a spread training run)."""
        if neighbors.shape != scores.shape or neighbors.ndim != 2 or neighbors.shape[1] != int(self.k):
            raise ValueError(f"neighbour lists of shape {neighbors.shape} do not fit k={self.k}")
        self.n_terms_ = int(n_terms)
        self._set_neighbors(neighbors, scores)
        return self


def content_neighbor_block(
    tfidf: sp.csr_matrix, start: int, end: int, k: int, *, block_nnz: int = DEFAULT_BLOCK_NNZ, n_jobs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top-``k`` cosine neighbours of products ``start:end`` among all of them, never themselves.

    Rows are independent, so the blocks of a catalogue computed anywhere and stacked in order
    are exactly what :meth:`ContentModel.fit` computes in one process.
    """
    tfidf = sp.csr_matrix(tfidf)

    def not_itself(block: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> None:
        block.data[cols == rows + start] = 0  # rows count from the block's first product

    return blocked_top_k(
        tfidf[start:end], tfidf.T.tocsr(), int(k), transform=not_itself, exclude_self=False, block_nnz=block_nnz, n_jobs=n_jobs
    )


def row_blocks(n_rows: int, parts: int) -> list[tuple[int, int]]:
    """Return ``parts`` contiguous (start, end) ranges covering ``n_rows`` rows, sizes differing by at most one."""
    parts = max(1, min(int(parts), n_rows))
    edges = np.linspace(0, n_rows, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
