"""Deterministic bucketing: which visitors enter an experiment, and which variant they get.

Pure functions of (salt, customer id), so every process, with or without Redis, agrees. The
older engine's MD5 router, generalised: ``MD5("salt:customer_id") mod 10,000`` is the entry
bucket (a bucket below ``traffic x 100`` enters), and a second, independent hash
(``MD5("salt:variant:customer_id")``) picks the variant by cumulative weights, so changing
``traffic`` never changes which variant a visitor who enters gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(salt: str, customer_id: str) -> int:
    """Return the visitor's entry bucket, 0 to 9,999."""
    return _md5_bucket(f"{salt}:{customer_id}")


def variant_bucket(salt: str, customer_id: str) -> int:
    """Return the visitor's variant bucket, independent of the entry bucket."""
    return _md5_bucket(f"{salt}:variant:{customer_id}")


def enters(salt: str, customer_id: str, traffic_percent: float) -> bool:
    """Whether the visitor is in the experiment's traffic (0 to 100 percent of visitors)."""
    return bucket(salt, customer_id) < round(float(traffic_percent) * BUCKETS / 100)


def variant_index(salt: str, customer_id: str, weights: Sequence[float]) -> int:
    """Return the index of the visitor's variant, chosen by cumulative weights over the variant bucket."""
    if not weights or any(weight <= 0 for weight in weights):
        raise ValueError("Every variant needs a weight above 0.")
    point = variant_bucket(salt, customer_id) / BUCKETS * sum(weights)
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if point < cumulative:
            return index
    return len(weights) - 1  # float rounding at the very top


def _md5_bucket(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode("utf-8", "surrogatepass")).digest()[:8], "big") % BUCKETS
