"""Activity tokens: fresh on every bump, never reused after a loss, written only after commit, by every writer of history."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from shop.activity import (
    activity_generation,
    customer_activity_bump,
    customer_activity_bump_on_commit,
    customer_activity_key,
    user_activity_key,
)
from shop.importers import interactions_import
from shop.models import Customer, Interaction
from shop.services import InteractionInput, OrderLineInput, customer_for_request, interactions_record, order_place
from shop.tests.factories import CustomerFactory, InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def tokens(*keys: str) -> list:
    return [cache.get(key) for key in keys]


def test_a_bump_gives_the_customers_and_users_a_new_token():
    customer_activity_bump(customer_ids=["U1", "U2"], user_ids=[7])
    first = tokens(customer_activity_key("U1"), customer_activity_key("U2"), user_activity_key(7))
    customer_activity_bump(customer_ids=["U1"])

    assert all(isinstance(token, str) for token in first)
    assert cache.get(customer_activity_key("U1")) not in first
    assert cache.get(customer_activity_key("U2")) == first[1]


def test_keys_are_safe_for_any_customer_id():
    assert customer_activity_key("v-1f3e") == "activity:c:v-1f3e"
    assert customer_activity_key("a b:c/d") == "activity:c:a%20b%3Ac%2Fd"
    assert user_activity_key(42) == "activity:u:42"


def test_a_missing_token_is_seeded_once_and_then_read():
    key = customer_activity_key("U1")

    seeded = activity_generation(keys=[key])

    assert seeded == cache.get(key)
    assert activity_generation(keys=[key]) == seeded


def test_a_lost_token_is_replaced_by_one_never_used_before():
    key = customer_activity_key("U1")
    earlier = set()
    for _ in range(5):
        customer_activity_bump(customer_ids=["U1"])
        earlier.add(cache.get(key))
        earlier.add(activity_generation(keys=[key]))

    cache.delete(key)  # evicted, expired, or Redis restarted empty

    assert activity_generation(keys=[key]) not in earlier


def test_several_keys_are_read_together_and_joined():
    customer_activity_bump(customer_ids=["V"], user_ids=[3])
    user_token, visitor_token = tokens(user_activity_key(3), customer_activity_key("V"))

    assert activity_generation(keys=[user_activity_key(3), customer_activity_key("V")]) == f"{user_token}.{visitor_token}"
    assert activity_generation(keys=[user_activity_key(4), customer_activity_key("V")]).endswith(f".{visitor_token}")


def test_a_bump_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        customer_activity_bump_on_commit(customer_ids=["U1"])
        assert cache.get(customer_activity_key("U1")) is None

    assert len(callbacks) == 1
    assert cache.get(customer_activity_key("U1")) is not None


def test_a_rolled_back_write_bumps_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            customer_activity_bump_on_commit(customer_ids=["U1"])
            raise RuntimeError("the write failed")

    assert callbacks == []
    assert cache.get(customer_activity_key("U1")) is None


def test_recording_events_bumps_their_customers_and_linked_users(django_capture_on_commit_callbacks):
    product = ProductFactory()
    user = UserFactory(username="shopper")
    CustomerFactory(customer_id="U2", user=user)
    items = [
        InteractionInput(product=product, kind="view", timestamp=timezone.now(), customer_id=customer_id, event_id=f"e-{customer_id}")
        for customer_id in ("U1", "U2")
    ]

    with django_capture_on_commit_callbacks(execute=True):
        interactions_record(items=items, default_customer=lambda: pytest.fail("every event names its customer"))
    recorded = tokens(customer_activity_key("U1"), customer_activity_key("U2"), user_activity_key(user.pk))
    with django_capture_on_commit_callbacks(execute=True) as replayed:
        result = interactions_record(items=items, default_customer=lambda: pytest.fail("every event names its customer"))

    assert None not in recorded
    assert result.duplicates == 2
    assert replayed == []  # nothing stored, nothing bumped


def test_placing_an_order_bumps_its_customer(django_capture_on_commit_callbacks):
    product = ProductFactory(product_id="P1")
    user = UserFactory(username="buyer")
    customer = CustomerFactory(customer_id="user-buyer", user=user)

    with django_capture_on_commit_callbacks(execute=True):
        order_place(customer=customer, lines=[OrderLineInput(product_id=product.product_id, quantity=1)])

    assert None not in tokens(customer_activity_key("user-buyer"), user_activity_key(user.pk))


def signed_in_request(user, visitor_id: str):
    return SimpleNamespace(user=user, visitor_id=visitor_id)


def test_claiming_a_visitor_on_sign_in_bumps_the_visitor_and_the_user(django_capture_on_commit_callbacks):
    user = UserFactory(username="new")
    CustomerFactory(customer_id="v-1")

    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_for_request(request=signed_in_request(user, "v-1"))

    assert customer.user == user
    assert None not in tokens(customer_activity_key("v-1"), user_activity_key(user.pk))


def test_merging_a_visitor_into_the_users_customer_bumps_both_and_the_user(django_capture_on_commit_callbacks):
    user = UserFactory(username="back")
    own = CustomerFactory(customer_id="user-back", user=user)
    InteractionFactory(customer=CustomerFactory(customer_id="v-2"))
    customer_activity_bump(customer_ids=["v-2", "user-back"], user_ids=[user.pk])
    before = tokens(customer_activity_key("v-2"), customer_activity_key("user-back"), user_activity_key(user.pk))

    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_for_request(request=signed_in_request(user, "v-2"))

    after = tokens(customer_activity_key("v-2"), customer_activity_key("user-back"), user_activity_key(user.pk))
    assert customer == own and Interaction.objects.get().customer == own
    assert not Customer.objects.filter(customer_id="v-2").exists()
    assert all(new != old for new, old in zip(after, before))


def test_a_signed_in_request_changing_nothing_bumps_nothing(django_capture_on_commit_callbacks):
    user = UserFactory(username="steady")
    CustomerFactory(customer_id="user-steady", user=user)

    with django_capture_on_commit_callbacks() as callbacks:
        customer_for_request(request=signed_in_request(user, "v-never-stored"))

    assert callbacks == []


def test_importing_bumps_each_chunks_new_customers_and_their_users(tmp_path, django_capture_on_commit_callbacks):
    ProductFactory(product_id="P1")
    user = UserFactory(username="imported")
    CustomerFactory(customer_id="U3", user=user)
    path = tmp_path / "interactions.csv"
    path.write_text(
        "user_id,product_id,interaction_type,ts\n"
        "U1,P1,view,2026-01-01T10:00:00\nU2,P1,view,2026-01-01T10:01:00\nU3,P1,purchase,2026-01-01T10:02:00\n"
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        interactions_import(path=path, chunk_size=2)
    imported = tokens(*(customer_activity_key(customer_id) for customer_id in ("U1", "U2", "U3")), user_activity_key(user.pk))
    with django_capture_on_commit_callbacks() as again:
        report = interactions_import(path=path, chunk_size=2)

    assert len(callbacks) == 2  # one bump per chunk
    assert None not in imported
    assert report.unchanged == 3
    assert again == []  # nothing new, nothing bumped
