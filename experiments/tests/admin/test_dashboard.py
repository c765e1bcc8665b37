"""The recommendations dashboard: figures by placement and strategy built by hand, revenue share, nDCG by model."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from experiments.dashboard import dashboard_window, recommendation_revenue_share, recommendation_traffic
from experiments.models import Impression
from recommendations.models import ModelVersion
from shop.models import Interaction, Order, OrderLine
from shop.tests.factories import CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:experiments_dashboard")


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def impression(customer, request_id, placement, strategy, *, when):
    return Impression.objects.create(
        customer=customer, request_id=request_id, placement=placement, strategy=strategy, positions=[0, 1, 2],
        timestamp=when, event_id=f"event-{request_id}",
    )  # fmt: skip


def click(customer, product, *, when, **context):
    return Interaction.objects.create(customer=customer, product=product, kind="click", timestamp=when, context=context)


def order(customer, number, lines, *, when):
    placed = Order.objects.create(
        number=number, customer=customer, currency="USD", total=sum(quantity * price for _, quantity, price in lines)
    )
    OrderLine.objects.bulk_create(
        [OrderLine(order=placed, product=product, quantity=quantity, unit_price=price) for product, quantity, price in lines]
    )
    Order.objects.filter(pk=placed.pk).update(created_at=when)  # created_at is set on insert
    return placed


@pytest.fixture
def store_month():
    """Thirty days of recommendation traffic, small enough to count by hand.

    home_for_you / hybrid: 3 lists seen, 2 clicks (both by ann on the kettle), then ann's order
    of 2 kettles at 10.00 = 20.00, attributed once. product_similar / content: 1 list, 1 click
    (bob on the mug) 12 days before bob's order of 3 mugs at 5.00: outside the 7 days, not attributed.
    Ann's 1 mug at 5.00 was never clicked. Orders in the window: 20 + 5 + 15 = 40; attributed 20 (50 %).
    Left out: a QA preview's list and click, a list seen 40 days ago, a click without a list.
    """
    ann, bob = CustomerFactory(customer_id="ann"), CustomerFactory(customer_id="bob")
    kettle, mug = ProductFactory(title="Kettle"), ProductFactory(title="Mug")
    for number in range(3):
        impression(ann, f"home-{number}", "home_for_you", "hybrid", when=ago(days=3, hours=number))
    impression(bob, "similar-0", "product_similar", "content", when=ago(days=13))
    impression(ann, "qa-preview", "home_for_you", "hybrid", when=ago(days=1))
    impression(ann, "old-list", "home_for_you", "hybrid", when=ago(days=40))
    for hours in (1, 2):
        click(ann, kettle, when=ago(days=3, hours=-hours), request_id="home-0", placement="home_for_you", strategy="hybrid")
    click(bob, mug, when=ago(days=12), request_id="similar-0", placement="product_similar", strategy="content")
    click(ann, mug, when=ago(days=1), request_id="qa-preview", placement="home_for_you", strategy="hybrid")
    click(ann, mug, when=ago(days=1))  # a click on a product page, not in a list
    order(ann, "A-1", [(kettle, 2, Decimal("10.00")), (mug, 1, Decimal("5.00"))], when=ago(days=1))
    order(bob, "B-1", [(mug, 3, Decimal("5.00"))], when=ago(hours=1))
    order(bob, "B-0", [(mug, 9, Decimal("5.00"))], when=ago(days=45))  # before the window
    return {"ann": ann, "bob": bob}


def test_traffic_by_placement_counts_impressions_clicks_and_attributed_revenue(store_month):
    rows = {row.key: row for row in recommendation_traffic(by="placement", window=dashboard_window())}
    assert set(rows) == {"home_for_you", "product_similar"}
    home, similar = rows["home_for_you"], rows["product_similar"]
    assert (home.impressions, home.clicks, home.revenue) == (3, 2, Decimal("20.00"))
    assert home.ctr == pytest.approx(2 / 3)
    assert (similar.impressions, similar.clicks, similar.revenue) == (1, 1, Decimal("0.00"))


def test_traffic_by_strategy_matches(store_month):
    rows = {row.key: row for row in recommendation_traffic(by="strategy", window=dashboard_window())}
    assert (rows["hybrid"].impressions, rows["hybrid"].clicks, rows["hybrid"].revenue) == (3, 2, Decimal("20.00"))
    assert (rows["content"].impressions, rows["content"].clicks, rows["content"].revenue) == (1, 1, Decimal("0.00"))


def test_revenue_share_counts_each_line_once(store_month):
    share = recommendation_revenue_share(window=dashboard_window())
    assert (share.attributed, share.total) == (Decimal("20.00"), Decimal("40.00"))
    assert share.share == pytest.approx(0.5)


def test_the_dashboard_page_shows_the_figures(admin_client, store_month, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):  # 3 by placement, 3 by strategy, share, models; session, user, perms
        response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    home_row = page[page.index('<tr data-key="home_for_you">') :].split("</tr>")[0]
    cells = [cell.split("</td>")[0] for cell in home_row.split('<td class="num">')[1:]]
    assert cells == ["3", "2", "66.67 %", "20.00"]  # impressions, clicks, CTR, attributed revenue
    assert "<b>50.0 %</b> of order revenue (20.00 of 40.00)" in page
    assert page.count("<svg xmlns=\"http://www.w3.org/2000/svg\" width=") == 7  # three by placement, three by strategy, nDCG


def test_the_dashboard_shows_each_models_ndcg(admin_client):
    ModelVersion.objects.create(
        run_key="v-test", status="retired",
        metrics={"k": 10, "results": {"hybrid": {"ndcg": 0.4321}, "cf": {"ndcg": 0.3012}, "content": {"ndcg": 0.2468}}},
    )  # fmt: skip
    ModelVersion.objects.create(run_key="v-failed", status="failed", metrics={})
    response = admin_client.get(DASHBOARD)
    page = response.content.decode()
    assert "0.4321" in page and "0.3012" in page and "0.2468" in page
    assert [model["ndcg"] for model in response.context["models"]] == [["0.4321", "0.3012", "0.2468"]]
    assert "Offline nDCG@10 by model version" in page


def test_an_empty_store_shows_no_data(admin_client):
    page = admin_client.get(DASHBOARD).content.decode()
    assert "No recommendation traffic in the window." in page
    assert "No data yet" in page


def test_the_dashboard_needs_permission_to_view_experiments(client):
    client.force_login(UserFactory(username="clerk", staff=True))
    assert client.get(DASHBOARD).status_code == 403


def test_viewers_may_see_the_dashboard(viewer_client):
    assert viewer_client.get(DASHBOARD).status_code == 200
