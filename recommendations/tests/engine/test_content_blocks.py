"""Content neighbours computed in blocks (a spread training run) equal the one-process fit."""

import numpy as np
import pytest

from recommendations.engine.content import ContentModel, content_neighbor_block, row_blocks

TEXTS = [
    f"{colour} {thing} {size}"
    for colour in ("red", "green", "blue", "black")
    for thing in ("apple", "cherry", "kettle", "lamp", "scarf")
    for size in ("small", "large")
]  # 40 products, many ties


@pytest.mark.parametrize("parts", [1, 3, 7, 40])
def test_stacked_blocks_equal_the_single_process_fit(parts):
    whole = ContentModel(k=5, max_df=1.0, stop_words=None, n_jobs=1).fit(TEXTS)
    model = ContentModel(k=5, max_df=1.0, stop_words=None, n_jobs=1)
    tfidf = model.transform_texts(TEXTS)

    blocks = [content_neighbor_block(tfidf, start, end, 5) for start, end in row_blocks(len(TEXTS), parts)]
    model.with_neighbors(tfidf.shape[1], np.vstack([b[0] for b in blocks]), np.vstack([b[1] for b in blocks]))

    assert np.array_equal(model.neighbors_, whole.neighbors_)
    assert np.array_equal(model.neighbor_scores_, whole.neighbor_scores_)
    assert model.n_terms_ == whole.n_terms_
    assert not (model.neighbors_ == np.arange(len(TEXTS))[:, None]).any()  # never itself


def test_row_blocks_cover_every_row_once_in_order():
    assert row_blocks(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert row_blocks(2, 5) == [(0, 1), (1, 2)]
    assert row_blocks(0, 4) == []


def test_neighbour_lists_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="k=5"):
        ContentModel(k=5).with_neighbors(3, np.zeros((4, 3), dtype=np.int32), np.zeros((4, 3), dtype=np.float32))
