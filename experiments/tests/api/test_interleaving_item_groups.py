"""An interleaved list merges two rankings by item group: two variants of one product never both appear."""

import pytest
from django.core.cache import cache

from experiments.tests.api.test_interleaving import FOR_YOU, URL, interleaving_payload, shopper
from recommendations.serving import serving_reset
from shop.models import Product

pytestmark = pytest.mark.django_db


def test_each_ranking_shows_its_own_variant_and_the_merge_shows_one(active_model, staff_client):
    assert staff_client.post(URL, interleaving_payload(), format="json").status_code == 201
    assert staff_client.post(URL + "rank-duel/start/").json()["status"] == "running"
    query = {"k": 6, "product_id": "CAM0"}

    def ranking(variant: str) -> list[str]:
        body = staff_client.get(FOR_YOU, {**query, "variant": f"rank-duel:{variant}"}).json()
        return [item["product_id"] for item in body["results"]]

    hybrid, content = ranking("hybrid"), ranking("content")
    only_hybrid = next(product_id for product_id in hybrid if product_id not in content)
    only_content = next(product_id for product_id in content if product_id not in hybrid)
    # Make the two products variants of one: each ranking keeps its own, the merge only one.
    Product.objects.filter(product_id__in=[only_hybrid, only_content]).update(item_group_id="TWINS")
    serving_reset()
    cache.clear()
    assert only_hybrid in ranking("hybrid") and only_content in ranking("content")

    for _ in range(8):  # new visitors: other request ids, other coin flips
        shown = [item["product_id"] for item in shopper().get(FOR_YOU, query).json()["results"]]
        assert len({only_hybrid, only_content} & set(shown)) == 1, shown
        assert len(shown) == len(set(shown))
