"""Bucketing: the split follows the weights, is the same in every process, and traffic only decides who enters."""

import subprocess
import sys
from collections import Counter

import pytest

from experiments.assignment import BUCKETS, bucket, enters, variant_index


def test_100k_visitors_split_50_30_20_land_within_one_percent_of_each_weight():
    counts = Counter(variant_index("home-blend", f"v-{n:06d}", [50, 30, 20]) for n in range(100_000))

    for index, share in enumerate((0.50, 0.30, 0.20)):
        assert abs(counts[index] / 100_000 - share) <= 0.01


def test_the_same_visitor_gets_the_same_variant_in_another_process():
    ids = [f"v-{n}" for n in range(200)]
    here = [variant_index("salt", customer_id, [1, 2, 3]) for customer_id in ids]
    code = (
        "from experiments.assignment import variant_index;"
        "print(','.join(str(variant_index('salt', f'v-{n}', [1, 2, 3])) for n in range(200)))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert other == ",".join(map(str, here))


def test_traffic_admits_the_share_of_buckets_below_it():
    admitted = sum(enters("exp", f"c{n}", 25) for n in range(40_000))

    assert abs(admitted / 40_000 - 0.25) <= 0.01
    assert not any(enters("exp", f"c{n}", 0) for n in range(1000))
    assert all(enters("exp", f"c{n}", 100) for n in range(1000))


def test_raising_traffic_keeps_everyone_already_in_and_never_changes_a_variant():
    ids = [f"c{n}" for n in range(5000)]
    at_10 = {customer_id for customer_id in ids if enters("exp", customer_id, 10)}
    at_50 = {customer_id for customer_id in ids if enters("exp", customer_id, 50)}

    assert at_10 < at_50
    # The variant hash does not involve traffic at all: the same id keeps its variant at any traffic.
    assert all(variant_index("exp", customer_id, [1, 1]) == variant_index("exp", customer_id, [1, 1]) for customer_id in at_10)


def test_another_salt_reshuffles_visitors():
    same = sum(bucket("a", f"c{n}") == bucket("b", f"c{n}") for n in range(2000))

    assert same < 20  # about 2000 / 10,000 by chance
    assert all(0 <= bucket("a", f"c{n}") < BUCKETS for n in range(2000))


@pytest.mark.parametrize("weights", [[], [1, 0], [1, -2]])
def test_weights_must_all_be_positive(weights):
    with pytest.raises(ValueError):
        variant_index("exp", "c1", weights)
