"""Tiny hand-made data shared by the engine tests (no database, no Django)."""

import numpy as np
import pytest
import scipy.sparse as sp


def binary_matrix(rows, n_items):
    """Return a csr user x item matrix with a 1 for every (user, item) listed per row."""
    users = [u for u, items in enumerate(rows) for _ in items]
    items = [i for row in rows for i in row]
    return sp.csr_matrix((np.ones(len(items), dtype=np.float32), (users, items)), shape=(len(rows), n_items))


@pytest.fixture
def tiny_matrix():
    """Four items; counts c0=2, c1=3, c2=2, c3=1; co-occurrence c01=2, c02=1, c12=2.

    u0: 0 1    u1: 0 1 2    u2: 1 2    u3: 3
    """
    return binary_matrix([[0, 1], [0, 1, 2], [1, 2], [3]], 4)


@pytest.fixture
def tiny_texts():
    return ["red apple", "red cherry", "green apple", "blue sky"]
