"""Helpers for tests that race requests against each other on the real database."""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connections
from django.db.models.signals import pre_save

from shop.models import Order

JOIN_SECONDS = 30
HOLD_SECONDS = 0.2  # how long an order waits before it is inserted: long enough for the others to catch up


def all_at_once(calls: list[Callable[[], object]]) -> list:
    """Run each call in a thread of its own, released together by a barrier; return each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_SECONDS)
            results[index] = calls[index]()
        except BaseException as exc:  # reported by the caller's assertion
            results[index] = exc
        finally:
            connections.close_all()  # this thread's connection: the test database is dropped later

    threads = [threading.Thread(target=run, args=(index,), name=f"racer-{index}") for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a request hung (a lock never released?)"
    return results


@pytest.fixture
def order_store_held():
    """Hold every order for HOLD_SECONDS before it is inserted: after the stock check, before the decrement."""

    def hold(sender, instance, **kwargs):
        time.sleep(HOLD_SECONDS)

    pre_save.connect(hold, sender=Order, dispatch_uid="checkout-hold")
    yield
    pre_save.disconnect(sender=Order, dispatch_uid="checkout-hold")
