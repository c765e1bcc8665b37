"""The Flask engine's paths answer with its shapes, over the same lists and rules."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from recommendations.tests.api.conftest import visitor_id_of
from shop.models import Customer, Interaction
from shop.tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

ITEM_KEYS = {"product_id", "title", "score"}


def assert_flask_list(body: dict, *, keys=frozenset({"source", "results"})) -> list[str]:
    assert set(body) == keys
    for item in body["results"]:
        assert set(item) == ITEM_KEYS and isinstance(item["score"], float)
    return [item["product_id"] for item in body["results"]]


def test_content_path_lists_similar_products(active_model, api_client):
    response = api_client.get("/recommend/content/CAM0", {"top_k": 3})

    assert response.status_code == 200
    assert set(assert_flask_list(response.json())) == {"CAM1", "CAM2", "CAM3"}
    assert response.json()["results"][0]["title"] in {"Compact camera zoom lens", "Action camera waterproof", "DSLR camera body"}


def test_content_path_answers_the_same_list_as_the_api(active_model, api_client):
    flask = api_client.get("/recommend/content/BOO0", {"top_k": 5}).json()["results"]
    api = api_client.get("/api/recommendations/similar/BOO0/", {"k": 5}).json()["results"]

    assert flask == [{key: item[key] for key in ITEM_KEYS} for item in api]


def test_user_path_lists_the_users_personal_list_for_a_token_client(active_model, token_client):
    response = token_client.get("/recommend/user/U01", {"top_k": 4})

    assert response.status_code == 200
    ids = assert_flask_list(response.json())
    assert len(ids) == 4 and not {"BOO0", "BOO1", "BOO2", "BOO3"} & set(ids)


def test_user_path_for_an_unknown_user_is_the_cold_start_list(active_model, token_client):
    response = token_client.get("/recommend/user/NEWCOMER", {"top_k": 3})
    trending = token_client.get("/api/recommendations/trending/", {"k": 3}).json()["results"]

    assert response.status_code == 200
    assert assert_flask_list(response.json()) == [item["product_id"] for item in trending]


def test_hybrid_path_blends_for_a_user_and_a_product(active_model, token_client):
    response = token_client.get("/recommend/hybrid", {"user_id": "U01", "product_id": "CAM0", "top_k": 3, "w_content": 0.8, "w_cf": 0.2})

    assert response.status_code == 200
    ids = assert_flask_list(response.json())
    assert len(ids) == 3 and "CAM0" not in ids


def test_hybrid_path_weights_change_the_list_as_the_api_blends_it(active_model, token_client, small_store):
    """Content-only ranks the bought camera's look-alikes; CF-only its co-purchases (memory cards)."""
    InteractionFactory(customer=CustomerFactory(customer_id="U99"), product=small_store["CAM0"], kind="purchase")
    lists = {}
    for w_content, w_cf in ((1, 0), (0, 1)):
        flask = token_client.get("/recommend/hybrid", {"user_id": "U99", "top_k": 3, "w_content": w_content, "w_cf": w_cf})
        cache.clear()  # the API computes its list afresh rather than reading the one just cached
        api = token_client.get("/api/recommendations/hybrid/", {"customer_id": "U99", "k": 3, "w_content": w_content, "w_cf": w_cf})

        assert (flask.status_code, api.status_code, api.json()["source"]) == (200, 200, "model")
        assert flask.json()["results"] == [{key: item[key] for key in ITEM_KEYS} for item in api.json()["results"]]
        lists[w_content, w_cf] = assert_flask_list(flask.json())

    assert lists[1, 0] != lists[0, 1]
    assert set(lists[1, 0]) == {"CAM1", "CAM2", "CAM3"}
    assert {"MEM0", "MEM1"} <= set(lists[0, 1])


def test_hybrid_path_without_a_user_is_the_product_context(active_model, api_client):
    response = api_client.get("/recommend/hybrid", {"product_id": "BOO0", "top_k": 3})

    assert set(assert_flask_list(response.json())) == {"BOO1", "BOO2", "BOO3"}


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/recommend/content/CAM0", {"top_k": 3}),
        ("/recommend/user/U01", {"top_k": 3}),
        ("/recommend/hybrid", {"user_id": "U01", "product_id": "CAM0", "top_k": 3, "w_content": 0.5, "w_cf": 0.5}),
        ("/recommend/user/NEWCOMER", {"top_k": 3}),
    ],
)
def test_list_paths_say_model_when_computed_and_cache_when_read_from_the_cache(active_model, token_client, url, query):
    first = token_client.get(url, query).json()
    second = token_client.get(url, query).json()

    assert (first["source"], second["source"]) == ("model", "cache")
    assert second["results"] == first["results"] and len(first["results"]) == 3


def test_list_paths_answer_the_same_source_as_the_api_for_the_same_list(active_model, token_client):
    api = token_client.get("/api/recommendations/similar/BOO0/", {"k": 5}).json()
    flask = token_client.get("/recommend/content/BOO0", {"top_k": 5}).json()

    assert (api["source"], flask["source"]) == ("model", "cache")


def _ab_experiment(**fields):
    from experiments.tests.conftest import running_experiment

    return running_experiment(key="ab-blend", placement="home_for_you", **fields)


def test_ab_path_serves_each_user_their_stored_variant_of_the_running_experiment(active_model, token_client):
    from experiments.models import Assignment

    _ab_experiment()
    seen = {}
    for user_id in ("U00", "U01", "U02", "U03", "U04", "U05"):
        response = token_client.get("/recommend/ab", {"user_id": user_id, "product_id": "CAM0", "top_k": 3})
        body = response.json()
        assert response.status_code == 200
        assert set(body) == {"variant", "results", "source", "experiment", "request_id"}
        assert_flask_list(body, keys={"variant", "results", "source", "experiment", "request_id"})
        assert body["experiment"] == "ab-blend" and body["source"] in {"model", "cache"}
        seen[user_id] = body["variant"]

    stored = dict(Assignment.objects.filter(experiment__key="ab-blend").values_list("customer__customer_id", "variant__key"))
    assert stored == seen
    again = token_client.get("/recommend/ab", {"user_id": "U03", "top_k": 3}).json()
    assert again["variant"] == seen["U03"]


def test_ab_content_variant_lists_the_content_ranking(active_model, token_client):
    from experiments.models import Assignment

    _ab_experiment(weights=(1, 1))
    bodies = {u: token_client.get("/recommend/ab", {"user_id": u, "top_k": 3}).json() for u in (f"U{n:02d}" for n in range(12))}
    content_user = next(u for u, body in bodies.items() if body["variant"] == "treatment-1")  # treatment-1 ranks by content only
    content = token_client.get("/api/recommendations/hybrid/", {"customer_id": content_user, "k": 3, "w_content": 1, "w_cf": 0}).json()

    assert [item["product_id"] for item in bodies[content_user]["results"]] == [item["product_id"] for item in content["results"]]
    assert Assignment.objects.filter(experiment__key="ab-blend").count() == 12


def test_ab_path_without_a_running_experiment_serves_the_default_list_with_no_variant(active_model, token_client):
    body = token_client.get("/recommend/ab", {"user_id": "U00", "top_k": 3}).json()

    assert body["variant"] is None and body["experiment"] is None
    assert len(body["results"]) == 3


def test_ab_path_refuses_an_unknown_experiment(active_model, token_client):
    response = token_client.get("/recommend/ab", {"user_id": "U00", "experiment": "nope"})

    assert response.status_code == 404
    assert response.json()["extra"]["fields"] == {"experiment": ["No experiment 'nope'."]}


def test_ab_needs_a_user(active_model, api_client):
    response = api_client.get("/recommend/ab", {"product_id": "CAM0"})

    assert response.status_code == 400
    assert response.json()["code"] == "required"
    assert list(response.json()["extra"]["fields"]) == ["user_id"]


@pytest.mark.parametrize(
    "url",
    ["/recommend/user/U00", "/recommend/hybrid?user_id=U00", "/recommend/ab?user_id=U00"],
)
def test_per_user_paths_refuse_a_visitor_naming_someone_else(active_model, api_client, url):
    response = api_client.get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "customer_id_not_allowed"
    assert list(response.json()["extra"]["fields"]) == ["user_id"]


def test_a_visitor_may_ask_for_their_own_user_path(active_model, api_client):
    api_client.post("/api/interactions/", {"product_id": "BOO0", "kind": "view"}, format="json")

    response = api_client.get(f"/recommend/user/{visitor_id_of(api_client)}", {"top_k": 3})

    assert response.status_code == 200
    assert set(assert_flask_list(response.json())) == {"BOO1", "BOO2", "BOO3"}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/recommend/content/CAM0?top_k=0", "top_k"),
        ("/recommend/content/CAM0?top_k=101", "top_k"),
        ("/recommend/hybrid?top_k=x", "top_k"),
        ("/recommend/hybrid?w_content=3", "w_content"),
    ],
)
def test_bad_parameters_are_400_naming_them(active_model, api_client, url, field):
    response = api_client.get(url)

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == [field]


def test_an_unknown_product_is_a_404(active_model, api_client):
    response = api_client.get("/recommend/content/NOPE")

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_feedback_stores_the_event_for_the_user(active_model, token_client):
    response = token_client.post(
        "/feedback", {"user_id": "U99", "product_id": "CAM1", "action": "clicked", "ts": 1767225600}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    event = Interaction.objects.get(customer__customer_id="U99")
    assert (event.product.product_id, event.kind) == ("CAM1", "click")
    assert event.timestamp == datetime(2026, 1, 1, tzinfo=UTC)


def test_feedback_shows_up_in_the_users_next_list(active_model, token_client):
    before = token_client.get("/recommend/user/U99", {"top_k": 3}).json()["results"]
    token_client.post("/feedback", {"user_id": "U99", "product_id": "BOO0", "action": "view"}, format="json")
    after = token_client.get("/recommend/user/U99", {"top_k": 3}).json()["results"]

    assert {item["product_id"] for item in after} == {"BOO1", "BOO2", "BOO3"} != {item["product_id"] for item in before}


def test_feedback_gives_the_user_a_fresh_list_at_once(active_model, token_client, django_capture_on_commit_callbacks):
    url = "/api/recommendations/for-you/"
    before = token_client.get(url, {"customer_id": "U00", "k": 3}).json()
    assert token_client.get(url, {"customer_id": "U00", "k": 3}).json()["source"] == "cache"

    with django_capture_on_commit_callbacks(execute=True):
        token_client.post("/feedback", {"user_id": "U00", "product_id": "BOO0", "action": "view"}, format="json")
    after = token_client.get(url, {"customer_id": "U00", "k": 3}).json()

    assert after["source"] == "model"
    assert after["results"] != before["results"]


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"user_id": "U1", "product_id": "CAM1", "action": "glanced"}, "action", "invalid_choice"),
        ({"user_id": "U1", "product_id": "NOPE", "action": "view"}, "product_id", "unknown_product"),
        ({"user_id": "U1", "product_id": "CAM1"}, "action", "required"),
        ({"product_id": "CAM1", "action": "view"}, "user_id", "required"),
        ({"user_id": "U1", "product_id": "CAM1", "action": "view", "ts": "yesterday"}, "ts", "invalid"),
        ({"user_id": "U1", "product_id": "CAM1", "action": "view", "ts": "2999-01-01T00:00:00Z"}, "ts", "future_timestamp"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_field(active_model, token_client, payload, field, code):
    response = token_client.post("/feedback", payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert list(response.json()["extra"]["fields"]) == [field]
    assert not Interaction.objects.filter(customer__customer_id="U1").exists()


def test_feedback_from_a_visitor_for_someone_else_is_refused(active_model, api_client):
    response = api_client.post("/feedback", {"user_id": "U00", "product_id": "CAM1", "action": "view"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "customer_id_not_allowed"


@pytest.mark.parametrize("user_id", ["12345", 12345, 12345.0])
def test_feedback_from_a_visitor_naming_someone_else_by_any_json_type_is_refused_and_writes_nothing(
    active_model, api_client, user_id
):
    before = Customer.objects.count(), Interaction.objects.count()

    response = api_client.post("/feedback", {"user_id": user_id, "product_id": "CAM1", "action": "click"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "customer_id_not_allowed"
    assert list(response.json()["extra"]["fields"]) == ["user_id"]
    assert (Customer.objects.count(), Interaction.objects.count()) == before


@pytest.mark.parametrize("user_id", [["12345"], {"id": "12345"}, True])
def test_feedback_with_a_user_id_that_is_not_a_string_or_number_is_a_400_naming_it(active_model, api_client, user_id):
    before = Customer.objects.count(), Interaction.objects.count()

    response = api_client.post("/feedback", {"user_id": user_id, "product_id": "CAM1", "action": "click"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == ["user_id"]
    assert (Customer.objects.count(), Interaction.objects.count()) == before


@pytest.mark.parametrize("user_id", ["12345", 12345])
def test_feedback_from_a_token_client_writes_for_the_user_it_names(active_model, token_client, user_id):
    response = token_client.post("/feedback", {"user_id": user_id, "product_id": "CAM1", "action": "click"}, format="json")

    assert response.status_code == 200
    assert Interaction.objects.get(customer__customer_id="12345").kind == "click"


def test_feedback_from_a_visitor_naming_themselves_is_stored(active_model, api_client):
    api_client.get("/api/products/")  # sets the visitor cookie
    visitor_id = visitor_id_of(api_client)

    response = api_client.post("/feedback", {"user_id": visitor_id, "product_id": "CAM1", "action": "click"}, format="json")

    assert response.status_code == 200
    assert Interaction.objects.get(customer__customer_id=visitor_id).kind == "click"


@pytest.mark.parametrize(
    ("ts", "code"),
    [
        ("0001-01-01T00:00:00+01:00", "timestamp_too_early"),
        ("1999-12-31T23:59:59Z", "timestamp_too_early"),
        (946684799, "timestamp_too_early"),
        (-1, "timestamp_too_early"),
        ("2099-01-01T00:00:00Z", "future_timestamp"),
        (4070908800, "future_timestamp"),
    ],
)
def test_feedback_ts_outside_the_event_time_bounds_is_a_400_naming_it(active_model, token_client, ts, code):
    response = token_client.post(
        "/feedback", {"user_id": "U1", "product_id": "CAM1", "action": "view", "ts": ts}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert list(response.json()["extra"]["fields"]) == ["ts"]
    assert response.json()["message"].startswith("ts: ")
    assert not Customer.objects.filter(customer_id="U1").exists()


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2000-01-01T01:00:00+01:00", datetime(2000, 1, 1, tzinfo=UTC)),
        (946684800, datetime(2000, 1, 1, tzinfo=UTC)),
        ("now", None),
    ],
)
def test_feedback_ts_from_2000_to_now_is_stored(active_model, token_client, ts, expected):
    if ts == "now":
        expected = datetime.now(UTC)
        ts = expected.isoformat()

    response = token_client.post(
        "/feedback", {"user_id": "U1", "product_id": "CAM1", "action": "view", "ts": ts}, format="json"
    )

    assert response.status_code == 200
    assert Interaction.objects.get(customer__customer_id="U1").timestamp == expected


def test_feedback_from_a_browser_session_needs_the_csrf_token(active_model):
    browser = APIClient(enforce_csrf_checks=True)
    browser.get("/api/products/")  # sets the visitor and csrftoken cookies
    payload = {"user_id": visitor_id_of(browser), "product_id": "CAM1", "action": "view"}

    refused = browser.post("/feedback", payload, format="json")
    accepted = browser.post("/feedback", payload, format="json", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)

    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert accepted.status_code == 200


def test_feedback_with_a_token_needs_no_csrf_token(active_model, db):
    from rest_framework.authtoken.models import Token

    from shop.tests.factories import UserFactory

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")

    response = client.post("/feedback", {"user_id": "U05", "product_id": "CAM1", "action": "purchase"}, format="json")

    assert response.status_code == 200


def test_health_path_says_ok(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
