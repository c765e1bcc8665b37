"""Look up model classes by the name stored in an artifact, and load any single-model file."""

from __future__ import annotations

from .base import BaseRecommender, from_json_array, read_npz


def model_classes() -> dict[str, type[BaseRecommender]]:
    """Return every persistable model class by name."""
    from .collaborative import EASE, CoPurchaseModel, ItemKNN
    from .content import ContentModel
    from .hybrid import HybridRecommender
    from .trending import TrendingModel

    classes = (ItemKNN, CoPurchaseModel, EASE, ContentModel, TrendingModel, HybridRecommender)
    return {cls.__name__: cls for cls in classes}


def model_class(name: str) -> type[BaseRecommender]:
    """Return the model class called ``name``; ValueError for anything else (never imports by name)."""
    classes = model_classes()
    if name not in classes:
        raise ValueError(f"unknown model class {name!r} in artifact")
    return classes[name]


def load_model(path_or_file) -> BaseRecommender:
    """Load a model written by any model's ``save``, whatever its class."""
    state = read_npz(path_or_file)
    header = from_json_array(state["header"])
    return model_class(header["class"]).from_state(state)
