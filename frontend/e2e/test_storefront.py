"""The storefront in a real browser against a real Django server, checked against the database.

pytest-django's `live_server` runs Django in a thread of this process on a real database
(PostgreSQL in CI), so the test builds a demo store and trains a model with the ORM, lets
Debian's chromium shop through the SPA (frontend/e2e/storefront.mjs, playwright-core), and
then reads the rows the shopper's clicks and checkout wrote. Screenshots land in
frontend/e2e/screenshots/ (git-ignored; `.ci/run` prints their paths).
"""

import json
import os
import re
import subprocess
import uuid
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from recommendations.models import ModelVersion
from recommendations.serving import serving_reset
from recommendations.services import model_train
from shop.models import Interaction, Order, Product

FRONTEND = Path(__file__).resolve().parent.parent
SCRIPT = FRONTEND / "e2e" / "storefront.mjs"
SCREENSHOTS = Path(os.environ.get("STOREFRONT_SCREENSHOTS", FRONTEND / "e2e" / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def demo_store(browser_ready):
    """A small demo store with an active model, so every carousel has products."""
    cache.clear()  # recommendation lists cached by an earlier test's store must not leak in
    _serving_reset()
    call_command("generate_demo_data", products=300, customers=200, interactions=8000, stdout=StringIO())
    version = model_train(run_key=f"e2e-{uuid.uuid4()}")
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    yield
    _serving_reset()


def _serving_reset() -> None:
    """Forget any model this process loaded for an earlier test's database."""
    serving_reset()


def shown_amount(text: str | None) -> Decimal:
    """A price as the storefront shows it (Intl, locale en-US: "$1,234.50") as a Decimal."""
    match = re.fullmatch(r"[^\d\s]{1,3}\s?([\d,]+\.\d{2})", text or "")
    assert match, f"not a price as the storefront shows one: {text!r}"
    return Decimal(match.group(1).replace(",", ""))


def run_browser(base_url: str, tmp_path: Path) -> dict:
    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        ["node", str(SCRIPT), "--base-url", base_url, "--report", str(report_path), "--screenshots", str(SCREENSHOTS), "--chromium", CHROMIUM],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert completed.returncode == 0, (
        f"the browser run failed after step {report.get('steps', ['(none)'])[-1]!r}:\n"
        f"{report.get('error') or completed.stderr}\n{completed.stdout}"
    )
    return report


def test_a_shopper_follows_a_recommendation_and_buys_it(demo_store, live_server, tmp_path):
    stock_before = {p.product_id: p.stock for p in Product.objects.all()}

    report = run_browser(live_server.url, tmp_path)
    journey = report["journey"]

    # The page: carousels with products and reasons; the keyboard moves through a carousel.
    assert journey["home_carousels"]["trending"] > 0
    assert journey["home_carousels"]["for_you"] > 0
    assert journey["similar_count"] > 0
    assert all(reason for reason in journey["similar_reasons"])
    assert journey["focus_after_arrow"] == "1"
    assert journey["tabbable_cards"] == 1
    assert journey["cart_count_after_add"] == "1"
    assert journey["cart_count_after_order"] == "0"

    # The rows: a click with the carousel's context, then a view, an add to cart and a purchase.
    followed = journey["followed"]["product_id"]
    click = Interaction.objects.get(kind="click", product__product_id=followed, context__placement="product_similar")
    assert click.context["position"] == journey["followed"]["position"]
    assert click.context["request_id"]
    assert click.context["strategy"]
    assert click.context["model_version"]
    shopper = click.customer
    assert shopper.is_anonymous_visitor
    assert Interaction.objects.filter(customer=shopper, kind="view", product__product_id=followed).exists()
    add = Interaction.objects.get(customer=shopper, kind="add_to_cart", product__product_id=followed)
    assert add.context["request_id"] == click.context["request_id"]

    order = Order.objects.get(number=journey["order_number"])
    assert order.customer == shopper
    lines = list(order.lines.select_related("product"))
    assert [(line.product.product_id, line.quantity) for line in lines] == [(followed, 1)]

    # The money: what the pages showed is what the database holds and charged.
    product = Product.objects.get(product_id=followed)
    assert shown_amount(journey["followed_price"]) == product.price, (journey["followed_price"], product.price)
    assert lines[0].unit_price == product.price
    assert order.total == sum(line.unit_price * line.quantity for line in lines)
    assert shown_amount(journey["cart_total"]) == order.total, (journey["cart_total"], order.total)
    assert shown_amount(journey["order_total"]) == order.total, (journey["order_total"], order.total)
    purchase = Interaction.objects.get(customer=shopper, kind="purchase", product__product_id=followed)
    assert purchase.quantity == 1
    assert purchase.context["order"] == order.number
    assert purchase.context["request_id"] == click.context["request_id"]
    assert purchase.context["placement"] == "product_similar"
    if stock_before[followed] is not None:
        assert product.stock == stock_before[followed] - 1

    # "Customers also bought" on the first product page showed every product the API returns for it
    # (the purchase leaves at least 2 in stock, demo stock being 0 or 3..399, so availability is unchanged).
    url = reverse("api-recommendations-also-bought", args=[journey["first_product"]])
    response = APIClient().get(url, {"k": 12, "placement": "product_also_bought"})
    assert response.status_code == 200, response.content
    assert journey["also_bought_count"] > 0
    assert journey["also_bought_count"] == len(response.json()["results"])

    # The catalog's state lives in the URL: a reload keeps the search and the order.
    search = journey["search"]
    assert search["url"] == "?q=headphones&sort=price"
    assert search["heading"] == "Results for “headphones”"
    assert search["sort"] == "price"
    assert search["results"] > 0
    assert search["prices"] == sorted(search["prices"])

    # Every page at both widths: screenshots taken, no serious or critical accessibility violation.
    assert len(report["screenshots"]) == 9
    assert all(Path(path).is_file() for path in report["screenshots"])
    blocking = [v for v in report["accessibility"] if v["impact"] in {"serious", "critical"}]
    assert blocking == [], json.dumps(blocking, indent=2)
    assert report["console_errors"] == [], report["console_errors"]
