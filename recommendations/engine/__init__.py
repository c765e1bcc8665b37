"""The recommendation engine: pure numpy/scipy/scikit-learn/pandas, no Django.

It knows integer item and user indices; the Django glue maps database ids to them
(``ModelBundle.item_ids`` / ``index_of``).

Training (one call, named steps, one artifact)::

    from recommendations.engine import train_bundle, ModelBundle
    bundle, step_seconds, metrics = train_bundle(products_frame, interactions_frame, params, on_step=cb)
    bundle.save(file_or_path)                  # one .npz: every model, item ids, metadata JSON
    bundle = ModelBundle.load(file_or_path)    # np.load(allow_pickle=False)

See :mod:`recommendations.engine.pipeline` for the frame columns and ``DEFAULT_PARAMS``.

Serving (per request, item indices in and out)::

    hybrid = bundle.hybrid
    hybrid.recommend(history, 10, current_item=None, category=None, purchased=None, exclude=None, available=None)
    hybrid.similar_items(item, 10)   # "Similar products": content + CF neighbours of one product
    hybrid.also_bought(item, 10)     # "Customers also bought"
    hybrid.trending(10, category=c)  # "Trending now" / "Popular in <category>"

Each call returns :class:`Recommendations` ``(items, scores, reasons, anchors)``; ``reasons``
are ``cf`` ("Because you viewed <anchor>"), ``content`` ("Similar to <anchor>"),
``also_bought``, ``trending`` and ``trending_category``.

Models (``fit`` returns self; ``recommend``, ``similar_items``, ``save``, ``load``):
:class:`ContentModel`, :class:`ItemKNN`, :class:`EASE`, :class:`CoPurchaseModel`,
:class:`TrendingModel`, :class:`HybridRecommender`; :func:`make_cf_model` picks EASE or
item kNN by catalogue size. Evaluation: :mod:`.metrics`, :mod:`.evaluation`; the MovieLens
benchmark: :func:`recommendations.engine.movielens.benchmark_movielens`.
"""

from .base import (
    REASON_ALSO_BOUGHT,
    REASON_CF,
    REASON_CONTENT,
    REASON_KINDS,
    REASON_TRENDING,
    REASON_TRENDING_CATEGORY,
    NotFittedError,
    Recommendations,
)
from .bundle import BundleValidationError, ModelBundle, validate_bundle
from .collaborative import EASE, CoPurchaseModel, ItemKNN, cf_choice, make_cf_model
from .content import ContentModel, product_texts
from .hybrid import HybridRecommender
from .interactions import DEFAULT_EVENT_WEIGHTS, EVENT_KINDS, UserHistory, interaction_matrix, user_history
from .model_loading import load_model
from .pipeline import DEFAULT_PARAMS, TRAINING_STEPS, evaluate_strategies, resolve_params, train_bundle
from .trending import TrendingModel

__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "DEFAULT_PARAMS",
    "EASE",
    "EVENT_KINDS",
    "REASON_ALSO_BOUGHT",
    "REASON_CF",
    "REASON_CONTENT",
    "REASON_KINDS",
    "REASON_TRENDING",
    "REASON_TRENDING_CATEGORY",
    "TRAINING_STEPS",
    "BundleValidationError",
    "CoPurchaseModel",
    "ContentModel",
    "HybridRecommender",
    "ItemKNN",
    "ModelBundle",
    "NotFittedError",
    "Recommendations",
    "TrendingModel",
    "UserHistory",
    "cf_choice",
    "evaluate_strategies",
    "interaction_matrix",
    "load_model",
    "make_cf_model",
    "product_texts",
    "resolve_params",
    "train_bundle",
    "user_history",
    "validate_bundle",
]
