"""Interaction retention: exactly the old events of the named kinds go, in batches; orders, live experiments' clicks and newer events stay."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from experiments.models import Experiment
from shop.activity import customer_activity_bump, customer_activity_key, user_activity_key
from shop.models import Interaction, Order, OrderLine
from shop.retention import interactions_prune
from shop.services import OrderLineInput, order_place
from shop.tasks import prune_old_interactions
from shop.tests.factories import CustomerFactory, InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

AGES = (1, 10, 40, 100)  # days
KINDS = ("view", "click", "add_to_cart", "purchase")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def history():
    """U1 and U2 each have one event of every kind at every age (32 events); U2 is a signed-in user's customer."""
    product = ProductFactory(product_id="P1")
    now = timezone.now()
    customers = [CustomerFactory(customer_id="U1"), CustomerFactory(customer_id="U2", user=UserFactory(username="u2"))]
    for customer in customers:
        for age in AGES:
            for kind in KINDS:
                InteractionFactory(customer=customer, product=product, kind=kind, timestamp=now - timedelta(days=age, minutes=1))
    return customers


def remaining() -> set[tuple[str, str, int]]:
    """(customer, kind, age in days) of every stored event."""
    now = timezone.now()
    return {
        (customer_id, kind, (now - timestamp).days)
        for customer_id, kind, timestamp in Interaction.objects.values_list("customer__customer_id", "kind", "timestamp")
    }


def expected(*, pruned_kinds, older_than) -> set[tuple[str, str, int]]:
    return {
        (customer_id, kind, age)
        for customer_id in ("U1", "U2")
        for kind in KINDS
        for age in AGES
        if not (kind in pruned_kinds and age >= older_than)
    }


def prune(*args: str, capsys) -> str:
    call_command("prune_interactions", *args)
    return capsys.readouterr().out


def test_by_default_only_views_and_clicks_older_than_the_age_go(history, capsys):
    out = prune("--older-than", "30", capsys=capsys)

    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=30)
    assert Interaction.objects.count() == 24
    assert "Deleted 8 interactions older than" in out
    assert "(view 4, click 4) in 1 batch." in out


def test_named_kinds_are_the_only_ones_deleted(history, capsys):
    out = prune("--older-than", "7", "--kinds", "purchase, add_to_cart", capsys=capsys)

    assert remaining() == expected(pruned_kinds={"add_to_cart", "purchase"}, older_than=7)
    assert "Deleted 12 interactions" in out and "(add_to_cart 6, purchase 6)" in out


def test_small_batches_delete_the_same_rows_and_report_each_batch(history, capsys):
    out = prune("--older-than", "30", "--batch-size", "3", capsys=capsys)

    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=30)
    progress = [line for line in out.splitlines() if line.strip().startswith("batch ")]
    assert [line.split(":")[0].strip() for line in progress] == ["batch 1", "batch 2", "batch 3"]
    assert "deleted 3 (total 3," in progress[0] and "deleted 2 (total 8," in progress[2]
    assert "(view 4, click 4) in 3 batches." in out


def test_full_batches_end_with_one_empty_look(history, capsys):
    out = prune("--older-than", "30", "--batch-size", "4", capsys=capsys)

    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=30)
    assert "(view 4, click 4) in 2 batches." in out


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_prune_keeps_the_batches_it_committed_and_a_rerun_finishes(history):
    class Interrupted(Exception):
        pass

    def stop_after_first_batch(step):
        raise Interrupted

    with pytest.raises(Interrupted):
        interactions_prune(older_than_days=30, batch_size=3, progress=stop_after_first_batch)
    after_interruption = Interaction.objects.count()
    report = interactions_prune(older_than_days=30, batch_size=3)

    assert after_interruption == 32 - 3
    assert report.deleted == {"view": 2, "click": 3}
    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=30)


def test_events_with_ids_beyond_32_bits_are_deleted_too(capsys):
    old = timezone.now() - timedelta(days=90)
    InteractionFactory(id=5_000_000_000, kind="view", timestamp=old)
    InteractionFactory(id=7, kind="click", timestamp=old)
    InteractionFactory(id=5_000_000_001, kind="view", timestamp=timezone.now())

    out = prune("--older-than", "30", capsys=capsys)

    assert list(Interaction.objects.values_list("id", flat=True)) == [5_000_000_001]
    assert "(view 1, click 1) in 1 batch." in out


def test_a_dry_run_counts_and_deletes_nothing(history, capsys):
    out = prune("--older-than", "30", "--kinds", "view,click,purchase", "--dry-run", capsys=capsys)

    assert Interaction.objects.count() == 32
    assert "Would delete 12 interactions older than" in out and "(view 4, click 4, purchase 4)." in out
    assert "batch" not in out


def test_nothing_old_enough_deletes_nothing(history, capsys):
    out = prune("--older-than", "365", capsys=capsys)

    assert Interaction.objects.count() == 32
    assert "Deleted 0 interactions" in out and "in 0 batches" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--older-than", "-5"), "The age must be a whole number of days, 1 or more (got -5)."),
        (("--older-than", "0"), "The age must be a whole number of days, 1 or more (got 0)."),
        (("--older-than", "ten"), "argument --older-than: invalid int value: 'ten'"),
        (("--older-than", "30", "--kinds", "view,scroll"), "Unknown kind 'scroll'; use view, click, add_to_cart, purchase."),
        (("--older-than", "30", "--kinds", " , "), "Name at least one kind of event to prune"),
        (("--older-than", "30", "--batch-size", "0"), "The batch size must be between 1 and 100,000 (got 0)."),
        ((), "the following arguments are required: --older-than"),
    ],
)
def test_bad_arguments_are_a_clear_error_and_delete_nothing(history, args, message):
    with pytest.raises(CommandError) as error:
        call_command("prune_interactions", *args)

    assert message in str(error.value)
    assert Interaction.objects.count() == 32


def test_clicks_that_an_unfrozen_experiment_counts_are_kept(capsys):
    product, customer = ProductFactory(), CustomerFactory(customer_id="U1")
    Experiment.objects.create(key="running-test", name="Running", placement="home_for_you", status="running")
    Experiment.objects.create(key="stopped-no-snapshot", name="Stopped", placement="cart_for_you", status="stopped")
    Experiment.objects.create(key="frozen-test", name="Frozen", placement="product_similar", status="stopped", results_snapshot={"variants": []})
    old = timezone.now() - timedelta(days=60)
    for experiment in ("running-test", "stopped-no-snapshot", "frozen-test", None):
        context = {"experiment": experiment, "request_id": "r1"} if experiment else {"placement": "home_for_you"}
        InteractionFactory(customer=customer, product=product, kind="click", timestamp=old, context=context)
        InteractionFactory(customer=customer, product=product, kind="view", timestamp=old, context=context)

    out = prune("--older-than", "30", capsys=capsys)

    assert sorted(Interaction.objects.values_list("kind", "context__experiment")) == [
        ("click", "running-test"), ("click", "stopped-no-snapshot"),
    ]  # fmt: skip
    assert "Deleted 6 interactions" in out and "(view 4, click 2)" in out
    assert "kept 2 clicks that unfinished experiments still count." in out


def test_orders_and_their_lines_outlive_their_purchase_events(capsys):
    product = ProductFactory(product_id="P1", stock=None)
    customer = CustomerFactory(customer_id="U1")
    order = order_place(customer=customer, lines=[OrderLineInput(product_id="P1", quantity=2)]).order
    Interaction.objects.update(timestamp=timezone.now() - timedelta(days=400))

    prune("--older-than", "365", "--kinds", "purchase", capsys=capsys)

    assert not Interaction.objects.exists()
    assert list(Order.objects.values_list("number", "total")) == [(order.number, product.price * 2)]
    assert list(OrderLine.objects.values_list("product__product_id", "quantity")) == [("P1", 2)]


def test_customers_whose_events_went_get_fresh_personal_lists(history, django_capture_on_commit_callbacks):
    untouched = CustomerFactory(customer_id="U3")
    InteractionFactory(customer=untouched, kind="view", timestamp=timezone.now() - timedelta(days=2))
    u2_user = history[1].user_id
    customer_activity_bump(customer_ids=["U2", "U3"], user_ids=[u2_user])  # U1 has no token: nothing of theirs is cached
    keys = [customer_activity_key("U2"), user_activity_key(u2_user), customer_activity_key("U3"), customer_activity_key("U1")]
    before = [cache.get(key) for key in keys]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        interactions_prune(older_than_days=30, batch_size=5)
    after = [cache.get(key) for key in keys]

    assert len(callbacks) == 2  # after each committed batch (8 rows, 5 a batch)
    assert [new != old for new, old in zip(after[:3], before[:3])] == [True, True, False]
    assert after[3] is None  # seeded afresh, after the prune, at U1's next request


def test_a_dry_run_bumps_nobody(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        report = interactions_prune(older_than_days=30, dry_run=True)

    assert callbacks == []
    assert report.deleted == {"view": 4, "click": 4}


def test_the_task_keeps_everything_while_retention_is_off(history, settings):
    settings.INTERACTION_RETENTION_DAYS = None

    assert prune_old_interactions.apply().get() is None
    assert Interaction.objects.count() == 32


def test_the_task_applies_the_retention_setting_to_views_and_clicks(history, settings):
    settings.INTERACTION_RETENTION_DAYS = 5

    assert prune_old_interactions.apply().get() == {"view": 6, "click": 6}
    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=5)


def test_the_task_refuses_a_retention_below_one_day(history, settings):
    settings.INTERACTION_RETENTION_DAYS = -1

    with pytest.raises(ValueError, match="1 or more"):
        prune_old_interactions.apply().get()
    assert Interaction.objects.count() == 32


def test_beat_runs_the_task_nightly_before_the_retrain():
    task = PeriodicTask.objects.get(name="Prune old interactions daily")

    assert task.task == prune_old_interactions.name == "shop.tasks.prune_old_interactions"
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone), task.enabled) == ("2", "30", "UTC", True)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_scheduled_task_prunes_through_the_broker_on_a_real_worker(history, settings):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    settings.INTERACTION_RETENTION_DAYS = 30
    assert not app.conf.task_always_eager, "this test must go through the real broker"
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        prune_old_interactions.delay()
        for _ in range(300):  # liveness bound: a lost message would otherwise hang the suite
            if Interaction.objects.count() == 24:
                break
            time.sleep(0.1)
    assert remaining() == expected(pruned_kinds={"view", "click"}, older_than=30)
