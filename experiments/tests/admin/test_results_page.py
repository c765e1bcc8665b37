"""The results page: trust first (SRM banner), then the decision, metrics per variant, lifts and the lift chart."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from experiments.models import Assignment, Experiment, Impression
from experiments.results import experiment_results
from experiments.services import experiment_stop
from experiments.tests.admin.conftest import draft
from experiments.tests.conftest import running_experiment
from shop.models import Customer, Interaction
from shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

BANNER = "Sample ratio mismatch (p = "


def assign(experiment: Experiment, counts: dict[str, int], *, days_ago: float = 2) -> None:
    """Store assignments straight away: ``counts`` visitors per variant key."""
    variants = {variant.key: variant for variant in experiment.variants.all()}
    start = timezone.now() - timedelta(days=days_ago)
    customers = Customer.objects.bulk_create(
        [Customer(customer_id=f"{key}-{index}") for key, count in counts.items() for index in range(count)]
    )
    rows, position = [], 0
    for key, count in counts.items():
        for index in range(count):
            customer = customers[position]
            rows.append(
                Assignment(
                    experiment=experiment, customer=customer, variant=variants[key],
                    assigned_at=start + timedelta(seconds=position), request_id=f"req-{key}-{index}",
                )
            )  # fmt: skip
            position += 1
    Assignment.objects.bulk_create(rows)


def results_url(experiment: Experiment) -> str:
    return reverse("admin:experiments_experiment_results", args=[experiment.pk])


def started_days_ago(experiment: Experiment, days: float) -> Experiment:
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=days))
    experiment.refresh_from_db()
    return experiment


def test_a_skewed_split_shows_the_srm_banner(admin_client):
    experiment = started_days_ago(running_experiment(weights=(50, 50)), 3)
    assign(experiment, {"control": 1000, "treatment-1": 1200})
    response = admin_client.get(results_url(experiment))
    assert response.status_code == 200
    page = response.content.decode()
    assert BANNER in page
    assert "the split does not match the weights; do not trust these results" in page


def test_a_split_that_matches_the_weights_shows_no_banner(admin_client):
    experiment = started_days_ago(running_experiment(weights=(50, 50)), 3)
    assign(experiment, {"control": 1000, "treatment-1": 1010})
    page = admin_client.get(results_url(experiment)).content.decode()
    assert BANNER not in page
    assert "Split check passed" in page


def test_the_page_lists_each_variant_with_its_metrics_and_draws_charts(admin_client):
    experiment = started_days_ago(running_experiment(weights=(50, 50)), 3)
    assign(experiment, {"control": 30, "treatment-1": 30})
    product = ProductFactory()
    control_visitor = Assignment.objects.filter(variant__key="control").order_by("id").first()
    Impression.objects.create(
        customer=control_visitor.customer, request_id="list-1", placement="home_for_you", experiment=experiment,
        variant=control_visitor.variant, strategy="hybrid", positions=[0, 1], timestamp=timezone.now(), event_id="imp-1",
    )  # fmt: skip
    Interaction.objects.create(
        customer=control_visitor.customer, product=product, kind="click", timestamp=timezone.now(),
        context={"request_id": "list-1", "experiment": experiment.key, "variant": "control", "placement": "home_for_you"},
    )  # fmt: skip
    response = admin_client.get(results_url(experiment))
    page = response.content.decode()
    rows = {variant["key"]: variant for variant in response.context["page"]["variants"]}
    assert set(rows) == {"control", "treatment-1"}
    # Assigned, exposed, impressions, clicks, CTR: the control's one seen list with its one click.
    assert rows["control"]["cells"][:5] == ["30", "1", "1", "1", "100.00 %"]
    assert rows["treatment-1"]["cells"][:5] == ["30", "0", "0", "0", "\u2013"]
    assert 'data-variant="control"' in page and 'data-variant="treatment-1"' in page
    assert "Revenue per visitor" in page and "Holm-adjusted p" in page and "Chance to beat control" in page
    assert page.count("<svg xmlns=\"http://www.w3.org/2000/svg\" width=") == 5  # an interval bar per metric, the lift chart
    assert "Cumulative relative lift in CTR" in page
    assert "visitors per arm" in page or "Waiting for data" in page


def test_each_statistic_is_explained(admin_client):
    experiment = running_experiment()
    page = admin_client.get(results_url(experiment)).content.decode()
    for term in ("Sample ratio check", "Expected loss", "CUPED variance reduction", "Always-valid interval", "Planner"):
        assert f"<dt>{term}</dt>" in page


def test_names_are_escaped(admin_client):
    experiment = running_experiment(name="<script>alert(1)</script>")
    experiment.variants.filter(is_control=False).update(name='<img src=x onerror="alert(2)">')
    assign(experiment, {"control": 5, "treatment-1": 5})
    page = admin_client.get(results_url(experiment)).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_stopped_experiment_shows_its_frozen_results(admin_client):
    experiment = started_days_ago(running_experiment(weights=(50, 50)), 3)
    assign(experiment, {"control": 1000, "treatment-1": 1200})
    experiment = experiment_stop(experiment=experiment, results=lambda stopped: experiment_results(experiment=stopped))
    Assignment.objects.filter(experiment=experiment).delete()  # later changes must not show: the snapshot does
    response = admin_client.get(results_url(experiment))
    page = response.content.decode()
    assert "Results frozen at" in page
    assert BANNER in page
    assert response.context["page"]["visitors"] == "2,200"


def test_a_draft_without_visitors_says_there_is_nothing_yet(admin_client):
    page = admin_client.get(results_url(draft("home-blend"))).content.decode()
    assert "No visitors yet, so nothing to decide." in page
    assert "No daily data yet" in page
    assert BANNER not in page


def test_viewers_may_read_results(viewer_client):
    experiment = running_experiment()
    assert viewer_client.get(results_url(experiment)).status_code == 200


def test_the_changelist_links_to_results_and_the_dashboard(admin_client):
    experiment = running_experiment()
    page = admin_client.get(reverse("admin:experiments_experiment_changelist")).content.decode()
    assert results_url(experiment) in page
    assert reverse("admin:experiments_dashboard") in page
