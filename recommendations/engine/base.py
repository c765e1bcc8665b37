"""The interface every model answers, request results, and pickle-free ``.npz`` persistence."""

from __future__ import annotations

import inspect
import io
import json
import os
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

#: Reason kinds a recommended item can carry; the serving layer turns them into text.
REASON_CF = "cf"  # "Because you viewed {anchor}" / "Customers who viewed {anchor} also viewed"
REASON_CONTENT = "content"  # "Similar to {anchor}"
REASON_ALSO_BOUGHT = "also_bought"  # "Customers who bought {anchor} also bought"
REASON_TRENDING = "trending"  # "Trending now"
REASON_TRENDING_CATEGORY = "trending_category"  # "Popular in {category} this week"
REASON_KINDS: tuple[str, ...] = (
    REASON_CF,
    REASON_CONTENT,
    REASON_ALSO_BOUGHT,
    REASON_TRENDING,
    REASON_TRENDING_CATEGORY,
)

FORMAT_VERSION = 1


class NotFittedError(RuntimeError):
    """Raised when a model is asked for recommendations before ``fit`` or ``load``."""


class Recommendations(NamedTuple):
    """Ranked items for one request, best first; the four arrays have the same length.

    ``anchors`` holds the item that produced each recommendation (the history item or
    current product), -1 when there is none (trending).
    """

    items: np.ndarray  # int64 item indices
    scores: np.ndarray  # float32, higher is better; comparable within one request only
    reasons: np.ndarray  # str, one of REASON_KINDS
    anchors: np.ndarray  # int64 item index, -1 for none

    @classmethod
    def empty(cls) -> "Recommendations":
        return cls(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float32),
            np.zeros(0, dtype="<U17"),
            np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def build(cls, items, scores, reason, anchors=None) -> "Recommendations":
        items = np.asarray(items, dtype=np.int64)
        reasons = np.asarray(reason, dtype="<U17")
        if reasons.ndim == 0:
            reasons = np.full(items.shape, reasons, dtype="<U17")
        if anchors is None:
            anchors = np.full(items.shape, -1, dtype=np.int64)
        return cls(items, np.asarray(scores, dtype=np.float32), reasons, np.asarray(anchors, dtype=np.int64))

    def to_list(self) -> list[dict[str, Any]]:
        """Return plain dicts (``item``, ``score``, ``reason``, ``anchor``), e.g. for JSON."""
        return [
            {"item": int(i), "score": float(s), "reason": str(r), "anchor": int(a) if a >= 0 else None}
            for i, s, r, a in zip(self.items, self.scores, self.reasons, self.anchors)
        ]


def as_history(user, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(items, weights)`` from any accepted form of a customer's history.

    Accepted: a 1 x n_items sparse row (weights from its values, ordered by weight so the
    strongest items count as the most recent), a 1-D sequence of item indices (oldest first,
    weight 1), a ``(items, weights)`` pair, a :class:`UserHistory`, or None (no history).
    """
    if user is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if sp.issparse(user):
        row = sp.csr_matrix(user)
        if row.shape[0] != 1 or row.shape[1] != n_items:
            raise ValueError(f"a sparse history must be 1 x {n_items}, got {row.shape}")
        row.sum_duplicates()
        order = np.argsort(row.data, kind="stable")
        return row.indices[order].astype(np.int64), row.data[order].astype(np.float32)
    if isinstance(user, tuple) and len(user) >= 2 and not np.isscalar(user[0]):
        items = np.asarray(user[0], dtype=np.int64).ravel()
        weights = np.asarray(user[1], dtype=np.float32).ravel()
        if items.shape != weights.shape:
            raise ValueError("history items and weights differ in length")
    else:
        items = np.asarray(user, dtype=np.int64).ravel()
        weights = np.ones(items.shape, dtype=np.float32)
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ValueError(f"history item index out of range 0..{n_items - 1}")
    return items, weights


def as_index_array(values) -> np.ndarray:
    """Return an int64 array of item indices from None, an int, or a sequence."""
    if values is None:
        return np.zeros(0, dtype=np.int64)
    return np.atleast_1d(np.asarray(values, dtype=np.int64)).ravel()


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Return the positions of the ``n`` largest scores, best first (ties: lower position first)."""
    if n <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    if n < scores.size:
        part = np.argpartition(-scores, n - 1)[:n]
    else:
        part = np.arange(scores.size)
    return part[np.lexsort((part, -scores[part]))]


def _open_for(path_or_file, mode: str):
    if isinstance(path_or_file, (str, os.PathLike)):
        return open(path_or_file, mode), True
    return path_or_file, False


def write_npz(path_or_file, arrays: dict[str, np.ndarray], *, compress: bool = False) -> None:
    """Write arrays to ``path_or_file`` (a path, written exactly there, or a binary file object)."""
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"array {name!r} has dtype object and would need pickle")
    handle, owned = _open_for(path_or_file, "wb")
    try:
        (np.savez_compressed if compress else np.savez)(handle, **arrays)
    finally:
        if owned:
            handle.close()


def read_npz(path_or_file) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` written by :func:`write_npz`, never unpickling."""
    handle, owned = _open_for(path_or_file, "rb")
    try:
        if not owned and not hasattr(handle, "seek"):
            handle = io.BytesIO(handle.read())
        with np.load(handle, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    finally:
        if owned:
            handle.close()


def json_array(value: Any) -> np.ndarray:
    """Return ``value`` as JSON in a 0-d unicode array (stored without pickle)."""
    return np.array(json.dumps(value, sort_keys=True))


def from_json_array(array: np.ndarray) -> Any:
    return json.loads(str(array[()]))


class BaseRecommender:
    """Common plumbing: hyperparameters, the fitted check, state arrays and ``save``/``load``.

    Subclasses list their learned array attributes in ``_state_arrays`` and implement
    ``fit``, ``recommend`` and ``similar_items``.
    """

    _state_arrays: tuple[str, ...] = ()
    _state_scalars: tuple[str, ...] = ()

    # -- hyperparameters -------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """Return the constructor's parameters; an ``__init__`` taking ``**options`` adds its parent's."""
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in vars(klass):
                continue
            parameters = inspect.signature(vars(klass)["__init__"]).parameters.values()
            names += [p.name for p in parameters if p.name != "self" and p.kind != p.VAR_KEYWORD and p.name not in names]
            if not any(p.kind == p.VAR_KEYWORD for p in parameters):
                break
        return names

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitted state ----------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return all(hasattr(self, name) for name in self._state_arrays)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(...) or load(path) before asking for recommendations"
            )

    @property
    def n_items_(self) -> int:
        self._check_fitted()
        return int(self._n_items())

    def _n_items(self) -> int:
        raise NotImplementedError

    def get_state(self) -> dict[str, np.ndarray]:
        """Return the learned arrays plus a JSON header (class, params, scalars)."""
        self._check_fitted()
        header = {
            "class": type(self).__name__,
            "format": FORMAT_VERSION,
            "params": self.get_params(),
            "scalars": {name: getattr(self, name) for name in self._state_scalars},
        }
        state = {name: np.asarray(getattr(self, name)) for name in self._state_arrays}
        state["header"] = json_array(header)
        return state

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "BaseRecommender":
        header = from_json_array(state["header"])
        if header.get("class") != cls.__name__:
            raise ValueError(f"artifact holds a {header.get('class')}, not a {cls.__name__}")
        if header.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported artifact format {header.get('format')}")
        model = cls(**cls._params_from_json(header["params"]))
        for name in cls._state_arrays:
            if name not in state:
                raise ValueError(f"artifact is missing {name}")
            setattr(model, name, state[name])
        for name, value in header.get("scalars", {}).items():
            setattr(model, name, value)
        model._after_load()
        return model

    @classmethod
    def _params_from_json(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Return constructor arguments from their JSON form (JSON has no tuples)."""
        return params

    def _after_load(self) -> None:
        """Rebuild derived (unsaved) structures after loading."""

    def save(self, path_or_file, *, compress: bool = False) -> None:
        """Write the fitted model as ``.npz`` to a path (exactly that name) or a binary file object."""
        write_npz(path_or_file, self.get_state(), compress=compress)

    @classmethod
    def load(cls, path_or_file) -> "BaseRecommender":
        """Read a model written by :meth:`save` (``allow_pickle=False``)."""
        return cls.from_state(read_npz(path_or_file))
