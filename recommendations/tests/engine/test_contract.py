"""One contract, every model: the shared interface (fit, recommend, similar_items, save, load)."""

import io
import zipfile

import numpy as np
import pytest

from recommendations.engine import (
    EASE,
    CoPurchaseModel,
    ContentModel,
    HybridRecommender,
    ItemKNN,
    NotFittedError,
    TrendingModel,
    load_model,
)

TEXTS = ["red apple", "red cherry", "green apple", "blue sky"]


def _content():
    return ContentModel(k=3, max_df=1.0, stop_words=None, ngram_range=(1, 1))


def _hybrid_fit(model, matrix):
    return model.fit(
        cf=ItemKNN("jaccard", k=3).fit(matrix),
        content=_content().fit(TEXTS),
        trending=TrendingModel().fit(matrix, np.array([0, 1, 0, -1])),
        also_bought=CoPurchaseModel(k=2).fit(matrix),
    )


MODELS = {
    "item_knn_bm25": (lambda: ItemKNN("bm25", k=3), lambda m, x: m.fit(x)),
    "item_knn_cosine": (lambda: ItemKNN("cosine", k=3), lambda m, x: m.fit(x)),
    "item_knn_jaccard": (lambda: ItemKNN("jaccard", k=2), lambda m, x: m.fit(x)),
    "item_knn_asymmetric": (lambda: ItemKNN("asymmetric_cosine", k=3, alpha=0.3), lambda m, x: m.fit(x)),
    "co_purchase": (lambda: CoPurchaseModel(k=3), lambda m, x: m.fit(x)),
    "ease": (lambda: EASE(l2=1.0, k=3), lambda m, x: m.fit(x)),
    "content": (_content, lambda m, x: m.fit(TEXTS)),
    "trending": (TrendingModel, lambda m, x: m.fit(x, np.array([0, 1, 0, -1]))),
    "hybrid": (lambda: HybridRecommender(w_content=0.4, w_cf=0.6), _hybrid_fit),
}


@pytest.fixture(params=sorted(MODELS))
def case(request, tiny_matrix):
    make, fit = MODELS[request.param]
    return make, (lambda model: fit(model, tiny_matrix))


def _same(a, b):
    assert a.items.tolist() == b.items.tolist()
    assert a.scores.tolist() == b.scores.tolist()
    assert a.reasons.tolist() == b.reasons.tolist()
    assert a.anchors.tolist() == b.anchors.tolist()


class TestModelContract:
    def test_fit_returns_self(self, case):
        make, fit = case
        model = make()
        assert fit(model) is model

    def test_init_stores_hyperparameters_unchanged(self, case):
        make, _ = case
        model = make()
        assert type(model)(**model.get_params()).get_params() == model.get_params()

    def test_recommend_before_fit_raises_a_clear_error(self, case):
        make, _ = case
        with pytest.raises(NotFittedError, match="not fitted"):
            make().recommend([0], 3)
        with pytest.raises(NotFittedError):
            make().similar_items(0, 3)
        with pytest.raises(NotFittedError):
            make().save(io.BytesIO())

    def test_recommend_returns_ranked_filtered_items(self, case):
        make, fit = case
        model = fit(make())
        result = model.recommend([0], 3, exclude=[2])
        assert len(result.items) == len(result.scores) == len(result.reasons) == len(result.anchors) <= 3
        assert 0 not in result.items and 2 not in result.items
        assert list(result.scores) == sorted(result.scores, reverse=True)

    def test_similar_items_never_returns_the_item(self, case):
        make, fit = case
        model = fit(make())
        for item in range(4):
            assert item not in model.similar_items(item, 4).items

    def test_save_load_round_trip_gives_identical_output(self, case, tmp_path):
        make, fit = case
        model = fit(make())
        path = tmp_path / "model.npz"
        model.save(path)
        assert path.exists()  # written exactly where asked
        for loaded in (type(model).load(path), load_model(path)):
            assert type(loaded) is type(model)
            assert loaded.get_params() == model.get_params()
            for user in ([0], [1, 2], [3], None):
                _same(model.recommend(user, 4), loaded.recommend(user, 4))
            for item in range(4):
                _same(model.similar_items(item, 4), loaded.similar_items(item, 4))

    def test_save_to_a_file_object(self, case):
        make, fit = case
        model = fit(make())
        buffer = io.BytesIO()
        model.save(buffer)
        buffer.seek(0)
        _same(type(model).load(buffer).recommend([1], 4), model.recommend([1], 4))

    def test_artifact_needs_no_pickle(self, case, tmp_path):
        make, fit = case
        path = tmp_path / "model.npz"
        fit(make()).save(path)
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                assert data[name].dtype != object
        with zipfile.ZipFile(path) as archive:
            assert all(name.endswith(".npy") for name in archive.namelist())

    def test_loading_refuses_another_models_file(self, case, tmp_path):
        make, fit = case
        model = fit(make())
        path = tmp_path / "model.npz"
        model.save(path)
        other = TrendingModel if not isinstance(model, TrendingModel) else ItemKNN
        with pytest.raises(ValueError, match="not a"):
            other.load(path)
