"""Top-k of sparse rows (grouped and row by row) and the one-pass sparse product, against plain definitions."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine import topk
from recommendations.engine.collaborative import ItemKNN, bm25_user_items, bm25_weight
from recommendations.engine.topk import ProductBuffers, sparse_product, top_k_sparse_rows


def top_k_by_definition(block: sp.csr_matrix, k: int):
    """The k largest positive values of each row, value descending then column ascending."""
    out_idx = np.full((block.shape[0], k), -1, dtype=np.int32)
    out_val = np.zeros((block.shape[0], k), dtype=np.float32)
    for row in range(block.shape[0]):
        columns = block.indices[block.indptr[row] : block.indptr[row + 1]]
        values = block.data[block.indptr[row] : block.indptr[row + 1]].astype(np.float32)
        keep = values > 0
        columns, values = columns[keep], values[keep]
        order = np.lexsort((columns, -values))[:k]
        out_idx[row, : order.size] = columns[order]
        out_val[row, : order.size] = values[order]
    return out_idx, out_val


def shuffled_rows(block: sp.csr_matrix, rng) -> sp.csr_matrix:
    """The same matrix with each row's stored values in another order (as a sparse product leaves them)."""
    indices, data = block.indices.copy(), block.data.copy()
    for row in range(block.shape[0]):
        start, end = block.indptr[row], block.indptr[row + 1]
        order = start + rng.permutation(end - start)
        indices[start:end], data[start:end] = indices[order], data[order]
    shuffled = sp.csr_matrix((data, indices, block.indptr.copy()), shape=block.shape)
    shuffled.has_sorted_indices = False
    return shuffled


@pytest.mark.parametrize("long_row_values", [2048, 6])  # rows ranked together, or the longer ones one by one
@pytest.mark.parametrize("seed", range(6))
def test_top_k_of_sparse_rows_is_exact_with_ties_and_values_that_are_not_positive(monkeypatch, long_row_values, seed):
    monkeypatch.setattr(topk, "LONG_ROW_VALUES", long_row_values)
    rng = np.random.default_rng(seed)
    n_rows, n_cols = int(rng.integers(1, 50)), int(rng.integers(1, 300))
    values = rng.integers(-2, 5, (n_rows, n_cols)).astype(np.float32)  # small integers: many ties
    if seed % 2:
        values = rng.random((n_rows, n_cols)).astype(np.float32)
    dense = values * (rng.random((n_rows, n_cols)) < rng.random())
    block = shuffled_rows(sp.csr_matrix(dense), rng)

    for k in (1, 3, 10, 40):
        idx, val = top_k_sparse_rows(block, k)
        expected_idx, expected_val = top_k_by_definition(block, k)
        assert np.array_equal(idx, expected_idx), k
        assert np.array_equal(val, expected_val), k


def test_an_explicit_zero_is_never_listed():
    block = sp.csr_matrix((np.array([0.0, 0.5, 0.0], dtype=np.float32), np.array([0, 1, 2]), np.array([0, 3])), shape=(1, 3))

    idx, val = top_k_sparse_rows(block, 3)

    assert idx.tolist() == [[1, -1, -1]]
    assert val.tolist() == [[0.5, 0.0, 0.0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_one_pass_sparse_product_equals_the_operator(dtype):
    left = sp.random(60, 400, density=0.05, random_state=3, format="csr", dtype=dtype)
    right = sp.random(400, 90, density=0.04, random_state=4, format="csr", dtype=dtype)

    product = sparse_product(left, right)

    expected = (left @ right).toarray()
    assert product.dtype == dtype
    assert np.array_equal(product.toarray(), expected)
    buffers = ProductBuffers()
    for rows in (slice(0, 60), slice(0, 10), slice(20, 60)):  # one set of buffers, products of several sizes
        assert np.array_equal(sparse_product(left[rows], right, buffers=buffers).toarray(), expected[rows])


def test_bm25_weights_laid_out_by_user_are_the_item_layout_transposed(tiny_matrix):
    by_user = bm25_user_items(tiny_matrix)
    by_item = bm25_weight(tiny_matrix)

    assert by_user.dtype == np.float32
    assert np.array_equal(by_user.toarray(), by_item.T.toarray())


def test_item_knn_finds_the_same_neighbours_row_by_row_or_grouped(monkeypatch):
    rng = np.random.default_rng(0)
    user_items = sp.random(300, 120, density=0.08, random_state=5, format="csr", dtype=np.float32)
    user_items.data = rng.integers(1, 4, user_items.nnz).astype(np.float32)

    grouped = ItemKNN("bm25", k=10, block_nnz=500).fit(user_items)
    monkeypatch.setattr(topk, "LONG_ROW_VALUES", 1)
    row_by_row = ItemKNN("bm25", k=10, block_nnz=10**9, n_jobs=1).fit(user_items)

    assert np.array_equal(grouped.neighbors_, row_by_row.neighbors_)
    assert np.array_equal(grouped.neighbor_scores_, row_by_row.neighbor_scores_)
