"""Results from stored rows: what counts as an attributed click, add-to-cart and order, per variant, to the cent."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from experiments.models import Assignment, Experiment, Impression, Variant
from experiments.results import experiment_results
from experiments.services import experiment_stop
from experiments.tests.conftest import running_experiment
from shop.models import Customer, Interaction, Order, OrderLine, Product
from shop.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=20)


def at(hours: float):
    return T0 + timedelta(hours=hours)


def event(customer, product_id, kind, hours, **context):
    return Interaction.objects.create(
        customer=customer, product=Product.objects.get(product_id=product_id), kind=kind, timestamp=at(hours), context=context
    )


def order(customer, hours, *lines):
    placed = Order.objects.create(number=f"N{Order.objects.count()}", customer=customer, currency="USD", total=0)
    Order.objects.filter(pk=placed.pk).update(created_at=at(hours))
    for product_id, quantity, price in lines:
        OrderLine.objects.create(order=placed, product=Product.objects.get(product_id=product_id), quantity=quantity, unit_price=Decimal(price))


def assign(experiment, customer, variant_key, hours):
    return Assignment.objects.create(
        experiment=experiment, customer=customer, variant=experiment.variants.get(key=variant_key), assigned_at=at(hours), request_id="r0"
    )


def seen(customer, experiment, variant_key, hours, count):
    for index in range(count):
        Impression.objects.create(
            customer=customer, request_id=f"{customer.customer_id}-{hours}-{index}", placement=experiment.placement,
            experiment=experiment, variant=experiment.variants.get(key=variant_key), positions=[0, 1], timestamp=at(hours + index),
            event_id=f"e-{customer.customer_id}-{hours}-{index}",
        )  # fmt: skip


@pytest.fixture
def store_experiment(small_store):
    experiment = running_experiment(key="home-blend")
    Experiment.objects.filter(pk=experiment.pk).update(started_at=T0)
    experiment.refresh_from_db()
    key = {"experiment": "home-blend"}
    c1, c2, t1, t2 = (CustomerFactory(customer_id=name) for name in ("C1", "C2", "T1", "T2"))

    assign(experiment, c1, "control", 1)
    event(c1, "BOO3", "view", -48)  # before assignment: pre-period activity, not an outcome
    event(c1, "BOO2", "view", -30)
    seen(c1, experiment, "control", 1, 2)
    event(c1, "CAM0", "click", 2, request_id="C1-1-0", **key)
    event(c1, "CAM0", "add_to_cart", 3)
    order(c1, 5, ("CAM0", 2, "10.00"), ("MEM0", 1, "99.00"))  # MEM0 was never clicked: not attributed

    assign(experiment, c2, "control", 1)
    seen(c2, experiment, "control", 2, 1)

    assign(experiment, t1, "treatment-1", 1)
    seen(t1, experiment, "treatment-1", 1, 3)
    event(t1, "CAM2", "click", 0.5, request_id="r2", **key)  # before assignment
    event(t1, "CAM1", "click", 2, request_id="T1-1-0", **key)
    event(t1, "BOO0", "click", 3, request_id="T1-1-1", **key)
    event(t1, "BOO1", "click", 3, request_id="r5", experiment="other-test")
    event(t1, "BOO1", "click", 3, request_id="qa-r6", **key)  # a staff preview
    event(t1, "CAM1", "add_to_cart", 2 + 25)  # 25 h after the click: outside the 24 h window
    order(t1, 3 + 24 * 8, ("BOO0", 1, "10.00"))  # 8 days after the click: outside the 7-day window
    order(t1, 1.5, ("CAM1", 1, "10.00"))  # before the click

    assign(experiment, t2, "treatment-1", 1)
    seen(t2, experiment, "treatment-1", 1, 1)
    event(t2, "MEM1", "add_to_cart", 1.5)  # before the click
    event(t2, "MEM1", "click", 2, request_id="r7", **key)  # clicked before its impression was recorded: seen all the same
    order(t2, 20, ("MEM1", 1, "10.00"))
    return experiment


def by_key(results):
    return {row["key"]: row for row in results["variants"]}


def test_metrics_per_variant_count_only_attributed_events(store_experiment):
    rows = by_key(experiment_results(experiment=store_experiment, now=at(24 * 19)))

    control, treatment = rows["control"], rows["treatment-1"]
    assert {name: control[name] for name in ("assigned", "exposed", "impressions", "clicks", "clicking_visitors", "orders", "revenue")} == {
        "assigned": 2, "exposed": 2, "impressions": 3, "clicks": 1, "clicking_visitors": 1, "orders": 1, "revenue": 20.0,
    }  # fmt: skip
    assert control["ctr"] == pytest.approx(1 / 3)
    assert (control["add_to_cart_rate"], control["conversion"], control["revenue_per_visitor"], control["average_order_value"]) == (0.5, 0.5, 10.0, 20.0)
    assert {name: treatment[name] for name in ("assigned", "exposed", "impressions", "clicks", "clicking_visitors", "orders", "revenue")} == {
        "assigned": 2, "exposed": 2, "impressions": 5, "clicks": 3, "clicking_visitors": 2, "orders": 1, "revenue": 10.0,
    }  # fmt: skip
    assert treatment["ctr"] == 0.6
    assert (treatment["add_to_cart_rate"], treatment["conversion"], treatment["revenue_per_visitor"], treatment["average_order_value"]) == (0.0, 0.5, 5.0, 10.0)


def test_lifts_compare_each_treatment_with_the_control(store_experiment):
    results = experiment_results(experiment=store_experiment)
    lift = by_key(results)["treatment-1"]["lifts"]

    assert lift["ctr"]["absolute"] == pytest.approx(0.6 - 1 / 3)
    assert lift["ctr"]["relative"] == pytest.approx(0.8)
    assert lift["revenue_per_visitor"]["absolute"] == pytest.approx(-5.0)
    assert lift["conversion"]["relative"] == pytest.approx(0.0)
    assert by_key(results)["control"]["lifts"] is None
    assert results["srm"]["flagged"] is False and results["srm"]["p"] == pytest.approx(1.0)
    assert results["experiment"]["primary_metric"] == "ctr"


def test_the_attribution_windows_are_the_experiments_own(store_experiment):
    Experiment.objects.filter(pk=store_experiment.pk).update(cart_window_hours=48, purchase_window_days=10)
    store_experiment.refresh_from_db()

    treatment = by_key(experiment_results(experiment=store_experiment))["treatment-1"]

    assert treatment["add_to_cart_rate"] == 0.5  # T1's add-to-cart 25 h after the click now counts
    assert treatment["revenue"] == 20.0 and treatment["orders"] == 2  # and the order 8 days after


def test_stopping_freezes_the_results(store_experiment):
    before = experiment_results(experiment=store_experiment)
    stopped = experiment_stop(experiment=store_experiment, results=lambda experiment: experiment_results(experiment=experiment))
    c2 = Customer.objects.get(customer_id="C2")
    Interaction.objects.create(
        customer=c2, product=Product.objects.get(product_id="CAM0"), kind="click",
        timestamp=timezone.now() + timedelta(seconds=5), context={"experiment": "home-blend"},
    )  # fmt: skip

    after = experiment_results(experiment=Experiment.objects.get(pk=stopped.pk))

    assert by_key(after)["control"]["clicks"] == by_key(before)["control"]["clicks"] == 1
    assert by_key(stopped.results_snapshot)["control"]["clicks"] == 1
    assert stopped.results_snapshot["experiment"]["status"] == "stopped"


def test_cuped_uses_pre_period_activity(store_experiment):
    cuped = by_key(experiment_results(experiment=store_experiment))["treatment-1"]["cuped"]

    assert cuped is not None
    assert 0 <= cuped["variance_reduction"] <= 1


def test_an_experiment_with_no_visitors_yet_has_empty_but_valid_results(small_store):
    experiment = running_experiment(key="fresh")

    results = experiment_results(experiment=experiment)

    assert results["visitors"] == 0 and results["decision"] == "keep_running"
    assert [row["assigned"] for row in results["variants"]] == [0, 0]
    assert results["planner"]["note"]


@pytest.mark.parametrize(("control", "treatment", "flagged"), [(10_000, 10_600, True), (10_000, 10_100, False)])
def test_srm_flags_a_600_visitor_imbalance_and_not_a_100_visitor_one(small_store, control, treatment, flagged):
    experiment = running_experiment(key="srm")
    variants = {variant.key: variant for variant in Variant.objects.filter(experiment=experiment)}
    customers = Customer.objects.bulk_create([Customer(customer_id=f"s{n}") for n in range(control + treatment)])
    Assignment.objects.bulk_create(
        [
            Assignment(experiment=experiment, customer=customer, variant=variants["control" if n < control else "treatment-1"],
                       assigned_at=timezone.now(), request_id="r")  # fmt: skip
            for n, customer in enumerate(customers)
        ],
        batch_size=5000,
    )

    srm = experiment_results(experiment=experiment)["srm"]

    assert srm["flagged"] is flagged
    assert srm["p"] == pytest.approx(2.91e-05 if flagged else 0.481, rel=0.01)
