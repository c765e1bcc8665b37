"""The staff explain page: the list it explains is the list served, and it names why products are missing.

The small store (see recommendations/tests/conftest.py): even customers (U00, U02, ...) bought
cameras and memory cards, odd ones books; every customer bought everything in their history.
"""

import pytest
from django.urls import reverse

from experiments.models import Assignment, Experiment, Variant
from recommendations.engine.explain import RULE_PURCHASED, RULE_SEEN
from recommendations.explain import ExplainError, list_explain
from recommendations.rendering import RULE_INACTIVE, RULE_OUT_OF_STOCK, RULE_PAGE_GROUP, RULE_SAME_GROUP
from recommendations.tests.api.test_item_groups import GROUPS, group_products
from shop.models import Customer, Product
from shop.tests.factories import CustomerFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db

FOR_YOU = "/api/recommendations/for-you/"

# (placement, customer, page product) -> the API request that serves the same list.
SERVED = [
    ("home_for_you", "U00", None, FOR_YOU, {"customer_id": "U00"}),
    ("home_for_you", "U01", "CAM0", FOR_YOU, {"customer_id": "U01", "product_id": "CAM0"}),
    ("cart_for_you", "U02", None, FOR_YOU, {"customer_id": "U02", "placement": "cart_for_you"}),
    ("home_for_you", None, "BOO0", FOR_YOU, {"product_id": "BOO0"}),
    ("home_for_you", None, None, FOR_YOU, {}),
    ("product_similar", None, "CAM0", "/api/recommendations/similar/CAM0/", {}),
    ("product_also_bought", None, "CAM0", "/api/recommendations/also-bought/CAM0/", {}),
    ("home_trending", None, None, "/api/recommendations/trending/", {}),
]


def served(client, url: str, params: dict, k: int) -> list[tuple]:
    response = client.get(url, {"k": k, **params})
    assert response.status_code == 200, response.content
    return [(item["product_id"], item["score"], item["reason"]) for item in response.json()["results"]]


def explained(explanation) -> list[tuple]:
    return [(item["product_id"], item["score"], item["reason"]) for item in explanation.listing.results]


@pytest.mark.parametrize("placement, customer_id, product_id, url, params", SERVED)
@pytest.mark.parametrize("grouped", [False, True], ids=["no groups", "groups"])
def test_the_explained_list_is_the_served_list(active_model, token_client, placement, customer_id, product_id, url, params, grouped):
    if grouped:
        group_products(GROUPS)
    explanation = list_explain(placement=placement, customer_id=customer_id, product_id=product_id, k=6)

    assert explained(explanation) == served(token_client, url, params, k=6)
    assert explanation.model_version == active_model.pk
    assert [row.product_id for row in explanation.shown] == [item[0] for item in explained(explanation)]


def test_score_parts_add_up_to_the_blended_score(active_model):
    explanation = list_explain(placement="home_for_you", customer_id="U00", k=8)

    blended = [row for row in explanation.shown if row.parts["content"] is not None or row.parts["cf"] is not None]
    assert blended, "the list has products from the customer's history"
    for row in blended:
        assert (row.parts["content"] or 0) + (row.parts["cf"] or 0) == pytest.approx(row.score, abs=1e-5)
        assert row.rank_before_filters is not None and row.rank_by_score is not None
    assert all(row.parts["trending"] is not None for row in explanation.shown)
    assert explanation.settings["diversity"] == pytest.approx(0.2)  # the staff setting's default, recorded on the model
    assert {"w_content", "w_cf", "category_cap", "normalization", "n_recent", "cf_algorithm"} <= explanation.settings.keys()


def test_what_the_customer_bought_is_removed_as_purchased_and_their_history_shows_the_start_weights(active_model):
    explanation = list_explain(placement="home_for_you", customer_id="U00", k=6, asked_product_id="MEM1")

    rules = {row.product_id: row.rule for row in explanation.removed}
    bought = {"CAM0", "MEM0", "CAM1", "MEM1", "CAM2", "MEM2"}
    assert {product_id: rules.get(product_id) for product_id in bought} == dict.fromkeys(bought, RULE_PURCHASED)
    assert explanation.asked_verdict.startswith(f"Removed by the rule '{RULE_PURCHASED}' (ranked ")
    assert {row.product_id for row in explanation.history} == bought
    assert all(row.start_weight > 0 for row in explanation.history if row.product_id in {"CAM0", "MEM0"})


def test_with_purchases_allowed_the_history_is_removed_as_seen(active_model):
    from recommendations.models import RecommenderSettings

    RecommenderSettings.objects.update_or_create(pk=1, defaults={"exclude_purchased": False})
    explanation = list_explain(placement="home_for_you", customer_id="U00", k=6)

    assert {row.rule for row in explanation.removed if row.product_id in {"CAM0", "MEM0"}} == {RULE_SEEN}


def test_inactive_and_sold_out_products_are_named_with_their_rule(active_model):
    # A camera buyer who only viewed CAM0: the other cameras and memory cards are its neighbours.
    customer = CustomerFactory(customer_id="V1")
    InteractionFactory(customer=customer, product=Product.objects.get(product_id="CAM0"), kind="view")
    before = list_explain(placement="home_for_you", customer_id="V1", k=4)
    first, second = before.shown[0].product_id, before.shown[1].product_id
    Product.objects.filter(product_id=first).update(stock=0)
    Product.objects.filter(product_id=second).update(is_active=False)

    after = list_explain(placement="home_for_you", customer_id="V1", k=4, asked_product_id=first)

    rules = {row.product_id: row.rule for row in after.removed}
    assert (rules[first], rules[second]) == (RULE_OUT_OF_STOCK, RULE_INACTIVE)
    assert after.asked_verdict == f"Removed by the rule '{RULE_OUT_OF_STOCK}' (ranked {before.shown[0].rank_before_filters} before filtering)."
    assert first not in [row.product_id for row in after.shown]


def test_variants_are_removed_as_same_group(active_model):
    group_products(GROUPS)
    page = list_explain(placement="product_similar", customer_id=None, product_id="MEM0", k=6, asked_product_id="MEM1")
    assert page.asked_verdict == f"Removed by the rule '{RULE_PAGE_GROUP}' (ranked {page.removed[0].rank_before_filters} before filtering)." or (
        RULE_PAGE_GROUP in page.asked_verdict
    )
    assert {row.rule for row in page.removed if row.product_id in {"MEM1", "MEM2"}} == {RULE_PAGE_GROUP}

    cameras = list_explain(placement="product_similar", customer_id=None, product_id="CAM0", k=6)
    shown = [row.product_id for row in cameras.shown]
    hidden_variants = {row.product_id: row.rule for row in cameras.removed if row.product_id in GROUPS}
    assert sum(GROUPS.get(product_id) == "CAMX" for product_id in shown) == 1
    assert sum(GROUPS.get(product_id) == "SD" for product_id in shown) == 1
    assert hidden_variants and set(hidden_variants.values()) == {RULE_SAME_GROUP}


def test_a_product_newer_than_the_model_is_not_a_candidate(active_model):
    ProductFactory(product_id="NEW1", title="A brand new camera", category=Product.objects.get(product_id="CAM0").category)

    explanation = list_explain(placement="home_for_you", customer_id="U01", k=4, asked_product_id="NEW1")

    assert explanation.asked_verdict == (
        f"Not a candidate: model version {active_model.pk} does not know it (added to the store after that model was trained)."
    )


def test_a_product_far_from_the_history_is_not_a_candidate_and_a_shown_one_says_where(active_model):
    readers = list_explain(placement="product_also_bought", customer_id=None, product_id="BOO0", k=4, asked_product_id="CAM3")
    assert readers.asked_verdict == "Not a candidate: no customer bought it together with this product (no co-purchase neighbours)."

    shown = readers.shown[1]
    again = list_explain(placement="product_also_bought", customer_id=None, product_id="BOO0", k=4, asked_product_id=shown.product_id)
    assert again.asked_verdict == f"Shown at position 2 of {len(readers.shown)}."


def test_a_list_cut_short_says_the_rank(active_model):
    full = list_explain(placement="home_for_you", customer_id=None, product_id="CAM0", k=8)
    fifth = full.shown[4]
    assert fifth.rank_by_score == 5  # CAM0's neighbour, not a trending filler

    short = list_explain(placement="home_for_you", customer_id=None, product_id="CAM0", k=3, asked_product_id=fifth.product_id)

    assert short.asked_verdict == (
        f"Ranked {fifth.rank_before_filters} before filtering and {fifth.rank_by_score} after the filters; "
        "the list shows only its first 3."
    )


def test_the_experiment_variant_is_explained_without_assigning_anyone(active_model, token_client):
    experiment = Experiment.objects.create(key="content-only", name="Content only", placement="home_for_you",
                                           status=Experiment.Status.RUNNING, traffic=100)  # fmt: skip
    Variant.objects.create(experiment=experiment, key="control", weight=1, is_control=True, strategy="hybrid")
    Variant.objects.create(experiment=experiment, key="content", weight=1, strategy="content")

    explanation = list_explain(placement="home_for_you", customer_id="U01", k=5)

    variant = explanation.arm.arm.variant
    assert f"variant '{variant}' (the hash would assign it at the first exposure)" in explanation.arm.note
    assert Assignment.objects.count() == 0
    assert explained(explanation) == served(token_client, FOR_YOU, {"customer_id": "U01"}, k=5)
    assert Assignment.objects.get().variant.key == variant
    again = list_explain(placement="home_for_you", customer_id="U01", k=5)
    assert "(stored assignment)" in again.arm.note
    assert explained(again) == explained(explanation)


def test_without_a_model_the_popular_list_is_explained(small_store, token_client):
    explanation = list_explain(placement="home_for_you", customer_id="U00", k=4, asked_product_id="CAM0")

    assert explanation.model_version is None
    assert explained(explanation) == served(token_client, FOR_YOU, {"customer_id": "U00"}, k=4)
    assert explanation.chain == "no active model: the store's popular products"


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"placement": "home_for_you", "customer_id": "nobody"}, "customer_id"),
        ({"placement": "product_similar", "customer_id": None}, "product_id"),
        ({"placement": "home_for_you", "customer_id": None, "product_id": "NOPE"}, "product_id"),
        ({"placement": "home_for_you", "customer_id": None, "asked_product_id": "NOPE"}, "asked_product_id"),
    ],
)
def test_unknown_customers_and_products_name_the_field(small_store, arguments, field):
    with pytest.raises(ExplainError) as raised:
        list_explain(**arguments)
    assert raised.value.field == field


# -- the admin page ----------------------------------------------------------------------------

EXPLAIN = "admin:recommendations_explain"


@pytest.fixture
def admin_client_signed_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    return client


def test_the_page_shows_the_list_the_removed_products_and_links(active_model, admin_client_signed_in):
    response = admin_client_signed_in.get(
        reverse(EXPLAIN), {"customer_id": "U00", "placement": "home_for_you", "asked_product_id": "CAM0", "k": 5}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Removed by the rule &#x27;purchased&#x27;" in page
    assert 'id="shown"' in page and 'id="removed"' in page and 'id="history"' in page
    customer = Customer.objects.get(customer_id="U00")
    assert reverse("admin:shop_customer_change", args=[customer.pk]) in page
    assert reverse("admin:shop_product_change", args=[Product.objects.get(product_id="CAM0").pk]) in page
    assert reverse("admin:recommendations_modelversion_change", args=[active_model.pk]) in page
    assert reverse(EXPLAIN) in admin_client_signed_in.get(reverse("admin:recommendations_modelversion_changelist")).content.decode()


@pytest.mark.parametrize(
    "query, message",
    [
        ({"customer_id": "nobody", "placement": "home_for_you"}, "No customer or visitor &#x27;nobody&#x27;."),
        ({"customer_id": "U\x0000", "placement": "home_for_you"}, "Null characters are not allowed."),
        ({"placement": "product_similar"}, "A product page&#x27;s list needs the page&#x27;s product."),
        ({"placement": "nowhere"}, "Select a valid choice."),
        ({"placement": "home_for_you", "k": "100000000000000000000"}, "Ensure this value is less than or equal to 50."),
        ("placement=home_for_you&product_id=%ED%A0%80", "No product &#x27;\ufffd\ufffd\ufffd&#x27;."),  # a lone surrogate, UTF-8 encoded
        ("placement=home_for_you&customer_id=" + "9" * 65, "Ensure this value has at most 64 characters"),
    ],
)
def test_bad_questions_are_form_errors_not_server_errors(active_model, admin_client_signed_in, query, message):
    if isinstance(query, str):
        response = admin_client_signed_in.get(f"{reverse(EXPLAIN)}?k=5&{query}")
    else:
        response = admin_client_signed_in.get(reverse(EXPLAIN), {"k": 5, **query})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'id="shown"' not in response.content.decode()


def test_the_page_needs_staff_with_the_view_permission(active_model, client, django_user_model):
    assert client.get(reverse(EXPLAIN)).status_code == 302  # to the admin login
    client.force_login(django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True))
    assert client.get(reverse(EXPLAIN)).status_code == 403
