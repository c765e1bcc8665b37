"""Fitting each model of a training run from its prepared data and the run's params."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import scipy.sparse as sp

from .collaborative import CoPurchaseModel, make_cf_model
from .content import ContentModel
from .hybrid import HybridRecommender
from .training_data import TrainingData

PURCHASE_KINDS = ("add_to_cart", "purchase")


def keep_active_users(matrix: sp.csr_matrix, min_interactions: int) -> sp.csr_matrix:
    """Return the matrix with rows of users having fewer than ``min_interactions`` items emptied."""
    matrix = sp.csr_matrix(matrix)
    if min_interactions <= 1:
        return matrix
    counts = np.diff(matrix.indptr)
    keep = (counts >= min_interactions).astype(np.float32)
    return sp.csr_matrix(sp.diags(keep) @ matrix)


def fit_content(data: TrainingData, params: Mapping[str, Any]) -> ContentModel:
    """Return the content model fitted on the products' texts with the ``content_*`` params."""
    return content_model(params).fit(data.texts)


def content_model(params: Mapping[str, Any]) -> ContentModel:
    """Return the unfitted content model the ``content_*`` params describe."""
    return ContentModel(
        k=int(params["content_k"]),
        max_df=float(params["content_max_df"]),
        max_df_count=None if params["content_max_df_count"] is None else int(params["content_max_df_count"]),
        min_df=int(params["content_min_df"]),
        n_jobs=int(params["n_jobs"]),
    )


def fit_cf(matrix: sp.csr_matrix, params: Mapping[str, Any]):
    """Return the fitted CF model for this catalogue size and the record of the choice."""
    model, choice = make_cf_model(matrix.shape[1], params)
    return model.fit(keep_active_users(matrix, int(params["min_interactions"]))), choice


def fit_also_bought(data: TrainingData, params: Mapping[str, Any]) -> CoPurchaseModel:
    """Return the "customers also bought" model fitted on purchase and add-to-cart events."""
    matrix = data.matrix(kinds=PURCHASE_KINDS, params=params, half_life_days=params["half_life_days"])
    return CoPurchaseModel(
        params["also_bought_similarity"], k=int(params["also_bought_k"]), n_jobs=int(params["n_jobs"])
    ).fit(keep_active_users(matrix, 2))


def make_hybrid(
    params: Mapping[str, Any], w_content: Optional[float] = None, w_cf: Optional[float] = None, *, diversity: bool = True
):
    """Return the unfitted hybrid ``params`` describe; ``diversity=False`` turns re-ranking off (evaluation)."""
    if not diversity:
        params = {**params, "diversity": 0.0, "category_cap": 0}
    return HybridRecommender(
        w_content=float(params["w_content"] if w_content is None else w_content),
        w_cf=float(params["w_cf"] if w_cf is None else w_cf),
        n_recent=int(params["n_recent"]),
        exclude_purchased=bool(params["exclude_purchased"]),
        exclude_seen=bool(params["exclude_seen"]),
        normalization=params["normalization"],
        diversity=float(params["diversity"]),
        category_cap=int(params["category_cap"]),
    )
