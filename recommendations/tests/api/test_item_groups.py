"""Item groups: a list shows one variant of a product, never the page's product's group, and stays full.

The small store with two groups: the SD cards MEM0, MEM1, MEM2 are one product in three
sizes, and CAM1, CAM2 one camera in two colours. Groups are read when the model loads.
"""

from collections import Counter

import pytest
from django.core.cache import cache

from recommendations import selectors
from recommendations.serving import serving_reset
from recommendations.tests.api.conftest import result_ids
from shop.models import Product

pytestmark = pytest.mark.django_db

GROUPS = {"MEM0": "SD", "MEM1": "SD", "MEM2": "SD", "CAM1": "CAMX", "CAM2": "CAMX"}

LISTS = [
    ("/api/recommendations/similar/CAM0/", {}),
    ("/api/recommendations/similar/CAM3/", {}),
    ("/api/recommendations/also-bought/CAM0/", {}),
    ("/api/recommendations/trending/", {}),
    ("/api/recommendations/trending/", {"category": "memory"}),
    ("/api/recommendations/for-you/", {"product_id": "BOO0"}),
    ("/api/recommendations/hybrid/", {"customer_id": "U00"}),
    ("/api/recommendations/hybrid/", {"customer_id": "U01", "w_content": 1, "w_cf": 0}),
    ("/recommend/content/CAM0", {}),
    ("/recommend/user/U00", {}),
    ("/recommend/hybrid", {"user_id": "U02", "product_id": "BOO1"}),
]


def group_products(groups: dict[str, str]) -> None:
    """Give products their groups and start serving afresh, as after activating a model."""
    for product_id, group in groups.items():
        Product.objects.filter(product_id=product_id).update(item_group_id=group)
    serving_reset()
    cache.clear()


def groups_shown(ids: list[str]) -> Counter:
    return Counter(GROUPS[product_id] for product_id in ids if product_id in GROUPS)


def ungrouped_ids(client, url: str, params: dict) -> list[str]:
    """Return the list as it is without groups (then the groups are set)."""
    ids = result_ids(client.get(url, {"k": 12, **params}))
    group_products(GROUPS)
    return ids


def one_per_group(ids: list[str]) -> list[str]:
    """Return the ids with every later variant of a group dropped: the rule, applied to an ungrouped list."""
    seen, kept = set(), []
    for product_id in ids:
        group = GROUPS.get(product_id, product_id)
        if group not in seen:
            seen.add(group)
            kept.append(product_id)
    return kept


@pytest.mark.parametrize(("url", "params"), LISTS, ids=[f"{url}{params}" for url, params in LISTS])
def test_no_list_shows_two_variants_of_one_product(active_model, token_client, url, params):
    group_products(GROUPS)

    response = token_client.get(url, {"k": 12, **params})

    assert response.status_code == 200
    ids = [item["product_id"] for item in response.json()["results"]]
    assert ids and len(ids) == len(set(ids))
    assert all(count == 1 for count in groups_shown(ids).values()), ids


@pytest.mark.parametrize("kind", ["similar", "also-bought"])
def test_a_product_page_never_shows_its_own_products_variants(active_model, api_client, kind):
    group_products(GROUPS)

    for product_id, group in GROUPS.items():
        ids = result_ids(api_client.get(f"/api/recommendations/{kind}/{product_id}/", {"k": 12}))
        assert ids, product_id
        assert not [other for other in ids if GROUPS.get(other) == group], (product_id, ids)


def test_a_personal_list_on_a_product_page_leaves_out_that_products_variants(active_model, token_client):
    group_products(GROUPS)

    ids = result_ids(token_client.get("/api/recommendations/for-you/", {"customer_id": "U00", "product_id": "MEM1", "k": 12}))

    assert ids and not {"MEM0", "MEM1", "MEM2"} & set(ids)


@pytest.mark.parametrize(
    ("url", "params"),
    [("/api/recommendations/trending/", {}), ("/api/recommendations/similar/CAM0/", {}), ("/api/recommendations/hybrid/", {"customer_id": "U01"})],
)
def test_the_best_ranked_available_variant_is_the_one_shown(active_model, token_client, url, params):
    before = ungrouped_ids(token_client, url, params)
    best_sd = next(product_id for product_id in before if GROUPS.get(product_id) == "SD")

    shown = result_ids(token_client.get(url, {"k": 12, **params}))
    Product.objects.filter(product_id=best_sd).update(stock=0)
    after_sold_out = result_ids(token_client.get(url, {"k": 12, **params}))

    assert shown == one_per_group(before)
    assert best_sd in shown
    next_sd = next(product_id for product_id in before if GROUPS.get(product_id) == "SD" and product_id != best_sd)
    assert next_sd in after_sold_out and best_sd not in after_sold_out
    assert after_sold_out == one_per_group([product_id for product_id in before if product_id != best_sd])


def test_lists_stay_full_when_enough_groups_remain(active_model, api_client, monkeypatch):
    """Ten products have events, in seven groups; with no spare candidates the model is still asked for enough."""
    monkeypatch.setattr(selectors, "CANDIDATE_MARGIN", 0)
    group_products(GROUPS)

    ids = result_ids(api_client.get("/api/recommendations/trending/", {"k": 7}))

    assert len(ids) == 7
    assert groups_shown(ids) == {"SD": 1, "CAMX": 1}


def test_without_a_model_the_popular_lists_show_one_variant_and_not_the_pages_group(small_store, api_client):
    group_products(GROUPS)

    overall = result_ids(api_client.get("/api/recommendations/trending/", {"k": 12}))
    for_memory_card = result_ids(api_client.get("/api/recommendations/similar/MEM3/", {"k": 12}))
    for_sd_card = result_ids(api_client.get("/api/recommendations/similar/MEM0/", {"k": 12}))

    assert api_client.get("/api/recommendations/trending/").json()["strategy"] == "popular"
    assert all(count == 1 for count in groups_shown(overall).values()) and groups_shown(overall) == {"SD": 1, "CAMX": 1}
    assert len(overall) == 9  # twelve products, five of them in two groups
    assert groups_shown(for_memory_card) == {"SD": 1}
    assert for_sd_card == ["MEM3"]  # its category holds only the other SD cards besides


def test_an_experiment_variants_list_shows_one_variant(active_model, staff_client):
    from experiments.tests.conftest import running_experiment

    running_experiment(key="trend", placement="home_trending", weights=(50, 50))
    group_products(GROUPS)

    for variant in ("control", "treatment-1"):
        body = staff_client.get("/api/recommendations/trending/", {"k": 12, "variant": f"trend:{variant}"}).json()
        ids = [item["product_id"] for item in body["results"]]
        assert body["experiment"] == "trend" and ids
        assert all(count == 1 for count in groups_shown(ids).values()), (variant, ids)
