"""Lists served inside an experiment: the assigned variant's config, sticky, stored at the first exposure only."""

import pytest
from django.core.cache import cache

from experiments.models import Assignment, Experiment, Variant
from experiments.services import experiment_pause, experiment_update
from experiments.tests.conftest import running_experiment, visitor_id_of
from shop.models import Customer
from shop.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FOR_YOU = "/api/recommendations/for-you/"


def visitor(client):
    """A storefront visitor: the page load gives the cookie before any list is asked for."""
    client.get("/")
    return visitor_id_of(client)


def test_a_list_in_a_running_experiment_names_the_visitors_stored_variant(active_model, api_client):
    running_experiment()
    visitor_id = visitor(api_client)

    body = api_client.get(FOR_YOU, {"placement": "home_for_you", "k": 4}).json()

    assignment = Assignment.objects.get(customer__customer_id=visitor_id)
    assert body["experiment"] == "home-blend"
    assert body["variant"] == assignment.variant.key
    assert assignment.request_id == body["request_id"]
    assert body["strategy"] == assignment.variant.strategy


def test_the_variant_config_decides_the_list(active_model, api_client, token_client):
    running_experiment(weights=(1, 1))
    lists = {}
    for _ in range(12):
        client = type(api_client)()
        visitor(client)
        body = client.get(FOR_YOU, {"k": 4, "product_id": "CAM0"}).json()
        lists.setdefault(body["variant"], []).append(body)
    assert set(lists) == {"control", "treatment-1"}

    content = token_client.get("/api/recommendations/hybrid/", {"k": 4, "product_id": "CAM0", "w_content": 1, "w_cf": 0}).json()
    hybrid = token_client.get("/api/recommendations/hybrid/", {"k": 4, "product_id": "CAM0"}).json()
    ids = lambda body: [item["product_id"] for item in body["results"]]  # noqa: E731
    assert ids(content) != ids(hybrid)
    assert all(ids(body) == ids(content) and body["strategy"] == "content" for body in lists["treatment-1"])
    assert all(ids(body) == ids(hybrid) and body["strategy"] == "hybrid" for body in lists["control"])


def test_the_assignment_is_sticky_and_stored_once(active_model, api_client):
    running_experiment()
    visitor(api_client)

    variants = {api_client.get(FOR_YOU).json()["variant"] for _ in range(5)}
    cache.clear()  # even without the cached copy, the stored row decides
    from recommendations.serving import serving_reset

    serving_reset()
    variants.add(api_client.get(FOR_YOU).json()["variant"])

    assert len(variants) == 1
    assert Assignment.objects.count() == 1


def test_visitors_are_assigned_only_when_the_placement_serves_them(active_model, api_client):
    running_experiment(placement="product_similar", key="similar-test")
    visitor(api_client)

    api_client.get(FOR_YOU)  # another placement
    api_client.get("/api/products/")
    api_client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")
    assert Assignment.objects.count() == 0

    body = api_client.get("/api/recommendations/similar/CAM0/").json()
    assert body["experiment"] == "similar-test"
    assert Assignment.objects.count() == 1


def test_changing_weights_while_running_moves_nobody_already_assigned(active_model, api_client):
    experiment = running_experiment(weights=(50, 50))
    clients = []
    for _ in range(16):
        client = type(api_client)()
        visitor(client)
        clients.append((client, client.get(FOR_YOU).json()["variant"]))
    assert {variant for _, variant in clients} == {"control", "treatment-1"}

    experiment_update(
        experiment=experiment,
        fields={},
        variants=[{"key": "control", "weight": 0.001}, {"key": "treatment-1", "weight": 1000}],
    )
    assert [client.get(FOR_YOU).json()["variant"] for client, _ in clients] == [variant for _, variant in clients]

    newcomers = []
    for _ in range(10):
        client = type(api_client)()
        visitor(client)
        newcomers.append(client.get(FOR_YOU).json()["variant"])
    assert newcomers == ["treatment-1"] * 10


def test_traffic_zero_enters_nobody_and_a_paused_experiment_serves_the_default(active_model, api_client):
    experiment = running_experiment(traffic=0)
    visitor(api_client)
    assert api_client.get(FOR_YOU).json()["experiment"] is None

    experiment_update(experiment=experiment, fields={"traffic": 100})
    assert api_client.get(FOR_YOU).json()["experiment"] == "home-blend"

    experiment_pause(experiment=Experiment.objects.get(pk=experiment.pk))
    body = api_client.get(FOR_YOU).json()
    assert body["experiment"] is None and body["variant"] is None
    assert Assignment.objects.count() == 1  # kept while paused


def test_a_cookieless_request_is_served_the_default_and_not_entered(active_model, api_client):
    running_experiment()

    body = api_client.get(FOR_YOU).json()  # no cookie yet: this response mints it

    assert body["experiment"] is None
    assert Assignment.objects.count() == 0 and Customer.objects.count() == 12


def test_staff_can_preview_a_variant_without_being_assigned_or_counted(active_model, staff_client, api_client):
    running_experiment()

    body = staff_client.get(FOR_YOU, {"variant": "home-blend:treatment-1"}).json()

    assert (body["experiment"], body["variant"], body["strategy"]) == ("home-blend", "treatment-1", "content")
    assert body["request_id"].startswith("qa-")
    assert Assignment.objects.count() == 0

    visitor(api_client)
    refused = api_client.get(FOR_YOU, {"variant": "home-blend:treatment-1"})
    assert refused.status_code == 403 and refused.json()["extra"]["fields"] == {"variant": ["Only API-token clients and staff may choose a variant."]}
    unknown = staff_client.get(FOR_YOU, {"variant": "home-blend:nope"})
    assert unknown.status_code == 400 and "variant" in unknown.json()["extra"]["fields"]
    elsewhere = staff_client.get("/api/recommendations/trending/", {"variant": "home-blend:control"})
    assert elsewhere.status_code == 400
    malformed = staff_client.get(FOR_YOU, {"variant": "home-blend"})
    assert malformed.status_code == 400


def test_a_token_client_naming_a_customer_assigns_that_customer(active_model, token_client):
    running_experiment()

    body = token_client.get(FOR_YOU, {"customer_id": "U03"}).json()

    assert Assignment.objects.get().customer.customer_id == "U03"
    assert body["variant"] == Assignment.objects.get().variant.key
    missing = token_client.get(FOR_YOU, {"customer_id": "nobody"})
    assert missing.status_code == 404 and Assignment.objects.count() == 1


def test_a_visitor_who_signs_in_keeps_the_visitors_variant(active_model, api_client):
    running_experiment()
    visitor_id = visitor(api_client)
    before = api_client.get(FOR_YOU).json()["variant"]

    api_client.force_login(UserFactory(username="shopper"))
    after = api_client.get(FOR_YOU).json()["variant"]

    assert after == before
    assert Assignment.objects.get().customer.customer_id == visitor_id  # the claimed customer


def test_a_visitor_merged_into_an_account_brings_the_assignment_along(active_model, api_client):
    from rest_framework.test import APIClient

    user = UserFactory(username="returning")
    own = Customer.objects.create(customer_id=f"user-{user.pk}", user=user)
    running_experiment(key="cart-test", placement="cart_for_you")
    visitor(api_client)
    variant = api_client.get(FOR_YOU, {"placement": "cart_for_you"}).json()["variant"]

    api_client.force_login(user)
    api_client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")  # merges the visitor

    assert Assignment.objects.get().customer == own
    assert api_client.get(FOR_YOU, {"placement": "cart_for_you"}).json()["variant"] == variant
    other_device = APIClient()
    other_device.force_login(user)
    assert other_device.get(FOR_YOU, {"placement": "cart_for_you"}).json()["variant"] == variant


def test_a_cached_list_for_an_assigned_visitor_runs_no_query(active_model, api_client, settings, django_assert_num_queries):
    running_experiment()
    settings.RECOMMENDATION_MODEL_CHECK_SECONDS = 3600
    settings.RECOMMENDATION_AVAILABILITY_SECONDS = 3600
    visitor(api_client)
    first = api_client.get(FOR_YOU).json()

    with django_assert_num_queries(0):
        second = api_client.get(FOR_YOU).json()

    assert second["source"] == "cache" and second["variant"] == first["variant"]
    assert second["request_id"] != first["request_id"]


def test_lists_of_two_variants_never_share_a_cache_entry(active_model, token_client):
    experiment = running_experiment()
    Variant.objects.filter(experiment=experiment, key="treatment-1").update(strategy="hybrid", w_content=1.0, w_cf=0.0)
    from experiments.serving import experiments_serving_reset

    experiments_serving_reset()
    control = token_client.get(FOR_YOU, {"variant": "home-blend:control", "product_id": "CAM0", "k": 4}).json()
    treated = token_client.get(FOR_YOU, {"variant": "home-blend:treatment-1", "product_id": "CAM0", "k": 4}).json()

    assert treated["source"] == "model"
    assert [i["product_id"] for i in control["results"]] != [i["product_id"] for i in treated["results"]]


@pytest.mark.parametrize(
    "query",
    [
        {"placement": "home_for_you\x00"},
        {"placement": "nowhere"},
        {"variant": "home-blend:control\x00"},
        "variant=%ED%A0%80:x",
        "placement=home_for_you&placement=cart_for_you%00",
        {"variant": "a" * 200 + ":b"},
        {"variant": ":"},
    ],
)
def test_hostile_placement_and_variant_parameters_are_400s(active_model, staff_client, query):
    running_experiment()

    response = staff_client.get(f"{FOR_YOU}?{query}") if isinstance(query, str) else staff_client.get(FOR_YOU, query)

    assert response.status_code == 400, response.content
    assert set(response.json()["extra"]["fields"]) <= {"placement", "variant"}
    assert Assignment.objects.count() == 0


def test_a_merged_visitors_impressions_in_another_variant_stop_counting(active_model, api_client):
    from experiments.models import Impression

    user = UserFactory(username="two-devices")
    own = Customer.objects.create(customer_id=f"user-{user.pk}", user=user)
    experiment = running_experiment(key="cart-test", placement="cart_for_you")
    users_variant = experiment.variants.get(key="control")
    Assignment.objects.create(experiment=experiment, customer=own, variant=users_variant, assigned_at=own.created_at, request_id="r0")
    while True:  # a visitor the hash puts in the other variant
        client = type(api_client)()
        visitor(client)
        body = client.get(FOR_YOU, {"placement": "cart_for_you"}).json()
        if body["variant"] == "treatment-1":
            break
    client.post("/api/impressions/", [{"request_id": body["request_id"], "placement": "cart_for_you", "positions": [0],
                                        "experiment": "cart-test", "event_id": "e-merge"}], format="json")  # fmt: skip
    assert Impression.objects.get().variant.key == "treatment-1"

    client.force_login(user)
    client.post("/api/interactions/", {"product_id": "CAM0", "kind": "view"}, format="json")

    impression = Impression.objects.get()
    assert impression.customer == own and impression.experiment is None and impression.variant is None
    assert list(Assignment.objects.filter(customer=own).values_list("variant", flat=True)) == [users_variant.pk]
    assert not Assignment.objects.filter(variant__key="treatment-1").exists()  # the visitor's went with the visitor
