"""Sparse top-K: block-wise sparse products and each row's K largest values, never a whole similarity matrix.

Rows are computed in blocks whose size is chosen from an upper bound on their non-zeros, the
top K of each row is taken straight from the sparse block (no densifying), and blocks run on a
small thread pool (scipy's sparse product releases the GIL).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

#: ``transform(block, rows, cols)`` rewrites ``block.data`` in place; ``rows``/``cols`` are
#: the global row and column index of every stored value.
BlockTransform = Callable[[sp.csr_matrix, np.ndarray, np.ndarray], None]

#: Values of one block's product (bounded from above): its top-k working arrays take about 30 bytes a
#: value, so two threads' blocks stay near 250 MB.
DEFAULT_BLOCK_NNZ = 4_000_000

try:  # scipy's one-pass sparse product kernel (see sparse_product); absent, ``@`` is used
    from scipy.sparse._sparsetools import csr_matmat as _csr_matmat
except ImportError:  # pragma: no cover - another scipy layout
    _csr_matmat = None


#: Rows longer than this are ranked one at a time (a partition of their own values costs less than
#: their share of the padded arrays); shorter ones together, a group of similar lengths at a time.
LONG_ROW_VALUES = 2048


def top_k_sparse_rows(block: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indices, values)`` of the k largest positive values of each row, best first.

    Shapes are (n_rows, k), padded with -1 / 0. Ties go to the lower column index.
    Works on the stored values only: nothing is densified, and no Python step runs per row
    except for rows longer than ``LONG_ROW_VALUES``, whose own partition dwarfs that step.
    """
    n_rows = block.shape[0]
    out_idx = np.full((n_rows, k), -1, dtype=np.int32)
    out_val = np.zeros((n_rows, k), dtype=np.float32)
    if k <= 0 or block.nnz == 0:
        return out_idx, out_val
    indptr, indices, data = block.indptr, block.indices, block.data
    lengths = np.diff(indptr)
    long_rows = np.flatnonzero(lengths > max(k, LONG_ROW_VALUES))
    for row in long_rows:
        _top_k_of_row(indices[indptr[row] : indptr[row + 1]], data[indptr[row] : indptr[row + 1]], k, out_idx[row], out_val[row])
    if long_rows.size == n_rows:
        return out_idx, out_val
    if long_rows.size:
        short = lengths <= max(k, LONG_ROW_VALUES)
        in_short_row = np.repeat(short, lengths)
        indices, data = indices[in_short_row], data[in_short_row]
        lengths = np.where(short, lengths, 0)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
    if indices.size:
        _top_k_short_rows(indptr, indices, data, lengths, k, out_idx, out_val)
    return out_idx, out_val


def _top_k_of_row(columns: np.ndarray, values: np.ndarray, k: int, out_idx: np.ndarray, out_val: np.ndarray) -> None:
    """Write one row's top k (positive values, ties to the lower column) into ``out_idx``/``out_val``."""
    cut = values.size - k
    kth = np.partition(values, cut)[cut] if cut > 0 else 0
    if kth > 0:  # the common case: k positive values or more, so no pass to drop the others
        chosen = np.flatnonzero(values >= kth)
        if chosen.size > k:  # ties with the k-th value: the lower columns
            above = chosen[values[chosen] > kth]
            ties = chosen[values[chosen] == kth]
            chosen = np.concatenate((above, ties[np.argsort(columns[ties], kind="stable")][: k - above.size]))
    else:
        chosen = np.flatnonzero(values > 0)
    chosen = chosen[np.lexsort((columns[chosen], -values[chosen]))][:k]
    out_idx[: chosen.size] = columns[chosen]
    out_val[: chosen.size] = values[chosen]


def _top_k_short_rows(indptr, indices, data, lengths, k: int, out_idx: np.ndarray, out_val: np.ndarray) -> None:
    """Write the top k of every non-empty row (see :func:`top_k_sparse_rows`), all rows at once.

    Each value and its column become one unsigned 64-bit key that sorts by value descending,
    then column ascending (a positive float's bits order like the float; values are compared
    as float32, what the lists store). Rows of similar length (within a factor of two) are
    padded with the largest key into one dense array, so one partition and one sort of k keys
    per row give the exact order, in a handful of numpy calls per group of rows.
    """
    n_rows = lengths.size
    groups = np.frexp(lengths.astype(np.float64))[1]  # 0 for empty rows
    group_widths = np.zeros(groups.max() + 1, dtype=np.int64)
    np.maximum.at(group_widths, groups, lengths)
    # One flat buffer holds every group's padded (rows x width) array, rows in order within a group.
    by_group = np.argsort(groups, kind="stable")
    row_sizes = group_widths[groups[by_group]]
    row_starts = np.empty(n_rows, dtype=np.int64)
    row_starts[by_group] = np.cumsum(row_sizes) - row_sizes
    padded = np.full(int(row_sizes.sum()), _PADDING_KEY, dtype=np.uint64)
    padded[np.arange(indices.size) + np.repeat(row_starts - indptr[:-1], lengths)] = _ranking_keys(data, indices)
    first = 0
    for group in np.unique(groups):
        count = int((groups == group).sum())
        rows, width = by_group[first : first + count], int(group_widths[group])
        first += count
        if width == 0:
            continue
        block_keys = padded[row_starts[rows[0]] : row_starts[rows[0]] + count * width].reshape(count, width)
        if width > k:
            block_keys = np.partition(block_keys, k - 1, axis=1)[:, :k]
        best = np.sort(block_keys, axis=1)
        # The padding key decodes to column -1 and value 0.
        out_idx[rows, : best.shape[1]] = (best & _LOW_BITS).astype(np.uint32).view(np.int32)
        out_val[rows, : best.shape[1]] = (_LOW_BITS - (best >> np.uint64(32))).astype(np.uint32).view(np.float32)


_LOW_BITS = np.uint64(0xFFFFFFFF)
_PADDING_KEY = np.iinfo(np.uint64).max


def _ranking_keys(data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Return per stored value ``(~bits(float32 value) << 32) | column``: ascending keys rank values descending.

    A value that is not positive gets the padding key: it is never listed.
    """
    values = np.asarray(data, dtype=np.float32)
    halves = np.empty((data.size, 2), dtype=np.uint32)  # little-endian: column low, ranked value high
    halves[:, 0] = indices
    np.subtract(np.uint32(0xFFFFFFFF), values.view(np.uint32), out=halves[:, 1])
    keys = halves.view(np.uint64).ravel()
    keys[~(values > 0)] = _PADDING_KEY
    return keys


def plan_blocks(row_cost: np.ndarray, budget: int, max_rows: int = 4096) -> list[tuple[int, int]]:
    """Cut rows into consecutive ``(start, end)`` blocks whose summed cost stays near ``budget``."""
    n = row_cost.size
    blocks = []
    start = 0
    cumulative = np.cumsum(row_cost, dtype=np.float64)
    while start < n:
        base = cumulative[start - 1] if start else 0.0
        end = int(np.searchsorted(cumulative, base + budget, side="right"))
        end = min(max(end, start + 1), start + max_rows, n)
        blocks.append((start, end))
        start = end
    return blocks


def blocked_top_k(
    left: sp.csr_matrix,
    right: sp.csr_matrix,
    k: int,
    *,
    transform: Optional[BlockTransform] = None,
    exclude_self: bool = True,
    block_nnz: int = DEFAULT_BLOCK_NNZ,
    n_jobs: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top-k columns of each row of ``left @ right`` as (n_rows, k) int32/float32 arrays.

    ``exclude_self`` drops the diagonal (row i never lists column i). Block sizes come from an
    upper bound on each row's non-zeros so that no block holds more than about ``block_nnz`` values.
    """
    left = sp.csr_matrix(left)
    right = sp.csr_matrix(right)
    n_rows, n_cols = left.shape[0], right.shape[1]
    neighbors = np.full((n_rows, k), -1, dtype=np.int32)
    scores = np.zeros((n_rows, k), dtype=np.float32)
    if n_rows == 0 or k <= 0:
        return neighbors, scores
    right_row_nnz = np.diff(right.indptr).astype(np.float64)
    pattern = sp.csr_matrix((np.ones(left.nnz), left.indices, left.indptr), shape=left.shape)
    cost = np.minimum(pattern @ right_row_nnz, n_cols) + 1.0
    blocks = plan_blocks(cost, block_nnz)

    per_thread = threading.local()

    def run(bounds: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
        start, end = bounds
        if not hasattr(per_thread, "buffers"):
            per_thread.buffers = ProductBuffers()
        product = sparse_product(left[start:end], right, buffers=per_thread.buffers)
        if product.nnz and (transform is not None or exclude_self):
            rows = np.repeat(np.arange(start, end, dtype=product.indices.dtype), np.diff(product.indptr))
            if transform is not None:
                transform(product, rows, product.indices)
            if exclude_self:
                product.data[product.indices == rows] = 0  # never listed: only positive values are
        idx, val = top_k_sparse_rows(product, k)
        return start, idx, val

    if n_jobs and n_jobs > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            results = pool.map(run, blocks)
            for start, idx, val in results:
                neighbors[start : start + idx.shape[0]] = idx
                scores[start : start + idx.shape[0]] = val
    else:
        for bounds in blocks:
            start, idx, val = run(bounds)
            neighbors[start : start + idx.shape[0]] = idx
            scores[start : start + idx.shape[0]] = val
    return neighbors, scores


class ProductBuffers:
    """Output arrays for one thread's block products, kept from block to block.

    Fresh arrays per block would be page-faulted in again each time (a fifth of a content
    block's product at store scale). A product made in them is valid until the next one.
    """

    def __init__(self):
        self.indices = np.zeros(0, dtype=np.int32)
        self.data: dict[np.dtype, np.ndarray] = {}

    def arrays(self, size: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.dtype(dtype)
        if self.indices.size < size:
            size = int(size * 1.25)  # headroom: the next block's bound is rarely far above
            self.indices = np.empty(size, dtype=np.int32)
            self.data = {}
        if dtype not in self.data:
            self.data[dtype] = np.empty(self.indices.size, dtype=dtype)
        return self.indices, self.data[dtype]


def sparse_product(left: sp.csr_matrix, right: sp.csr_matrix, *, buffers: Optional[ProductBuffers] = None) -> sp.csr_matrix:
    """Return ``left @ right`` as CSR (indices unsorted).

    scipy's ``@`` first counts the product's non-zeros in a pass over the same data (about 40 %
    of a block's product at store scale). Here the output is allocated for an upper bound instead
    (per row, the smaller of its multiplications and the column count: one pass over ``left``
    alone) and scipy's kernel runs once. Memory pages past what the product fills are never
    written, so a loose bound costs address space, not RAM. With ``buffers`` the product lives in
    them (see :class:`ProductBuffers`). Falls back to ``@`` where the kernel cannot take the
    arrays as they are.
    """
    left, right = sp.csr_matrix(left), sp.csr_matrix(right)
    n_rows, n_cols = left.shape[0], right.shape[1]
    dtype = np.result_type(left.dtype, right.dtype)
    index_arrays = (left.indptr, left.indices, right.indptr, right.indices)
    if _csr_matmat is None or dtype not in (np.float32, np.float64) or any(array.dtype != np.int32 for array in index_arrays):
        return sp.csr_matrix(left @ right)
    pattern = sp.csr_matrix((np.ones(left.nnz), left.indices, left.indptr), shape=left.shape)
    nnz_bound = int(np.minimum(pattern @ np.diff(right.indptr).astype(np.float64), n_cols).sum())
    if nnz_bound >= np.iinfo(np.int32).max:
        return sp.csr_matrix(left @ right)
    indptr = np.empty(n_rows + 1, dtype=np.int32)
    if buffers is None:
        indices, data = np.empty(max(nnz_bound, 1), dtype=np.int32), np.empty(max(nnz_bound, 1), dtype=dtype)
    else:
        indices, data = buffers.arrays(max(nnz_bound, 1), dtype)
    _csr_matmat(
        n_rows, n_cols, left.indptr, left.indices, left.data.astype(dtype, copy=False),
        right.indptr, right.indices, right.data.astype(dtype, copy=False), indptr, indices, data,
    )  # fmt: skip
    nnz = int(indptr[-1])
    return sp.csr_matrix((data[:nnz], indices[:nnz], indptr), shape=(n_rows, n_cols))


def top_k_dense_rows(
    matrix: np.ndarray, k: int, *, exclude_self: bool = True, by_magnitude: bool = False, chunk: int = 1024
):
    """Return the top-k entries per row of a dense matrix, sorted by value, best first.

    Positive entries only, or with ``by_magnitude`` the k largest in absolute value, negative
    ones kept (they push items down at scoring time).
    """
    n_rows, n_cols = matrix.shape
    k_eff = min(k, n_cols)
    neighbors = np.full((n_rows, k), -1, dtype=np.int32)
    scores = np.zeros((n_rows, k), dtype=np.float32)
    for start in range(0, n_rows, chunk):
        block = np.array(matrix[start : start + chunk], dtype=np.float32, copy=True)
        rows = np.arange(block.shape[0])
        if exclude_self:
            diag = rows + start
            inside = diag < n_cols
            block[rows[inside], diag[inside]] = 0.0
        key = np.abs(block) if by_magnitude else block
        if k_eff < n_cols:
            part = np.argpartition(-key, k_eff - 1, axis=1)[:, :k_eff]
        else:
            part = np.broadcast_to(np.arange(n_cols), block.shape).copy()
        vals = np.take_along_axis(block, part, axis=1)
        kept = vals != 0 if by_magnitude else vals > 0
        order = np.lexsort((part, -vals, ~kept), axis=1)  # kept entries first, by value
        part = np.take_along_axis(part, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        kept = np.take_along_axis(kept, order, axis=1)
        neighbors[start : start + block.shape[0], :k_eff] = np.where(kept, part, -1)
        scores[start : start + block.shape[0], :k_eff] = np.where(kept, vals, 0)
    return neighbors, scores
