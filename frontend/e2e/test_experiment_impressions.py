"""Impressions and experiment attribution in a real browser, checked against the database as it goes.

An experiment runs on "Recommended for you" (home_for_you). Debian's chromium opens the home
page in a viewport where that carousel is on screen and "Trending now" peeks in by less than
half (frontend/e2e/experiment_impressions.mjs). The script stops at checkpoints and this test
reads the rows meanwhile (the live server runs in a thread of this process):

- fold: one impression, of the list on screen, with the visitor's stored variant and the cards
  actually visible; none for the carousel below the fold, although the page waited well past
  the dwell and the batch delay (and flushed its queues). The POST carried the CSRF header.
- scrolled: the other carousel is recorded once it was on screen for a second, and only once
  after scrolling away and back.
- reloaded: a reload serves a new list (request id) with a new impression, the same variant.
- clicked: the click row carries the experiment, the variant, the request id and the position.
"""

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command

from experiments.models import Assignment, Experiment, Impression
from experiments.services import experiment_create, experiment_start
from recommendations.models import ModelVersion
from recommendations.serving import serving_reset
from recommendations.services import model_train
from shop.middleware import visitor_id_from_cookie
from shop.models import Customer, Interaction

FRONTEND = Path(__file__).resolve().parent.parent
SCRIPT = FRONTEND / "e2e" / "experiment_impressions.mjs"
SCREENSHOTS = Path(os.environ.get("STOREFRONT_SCREENSHOTS", FRONTEND / "e2e" / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RUN_TIMEOUT = 180

SEEN, UNSEEN = "home_for_you", "home_trending"
EXPERIMENT = "home-blend"
LIST_LENGTH = 12  # the home page asks for 12 products a carousel
DWELL = timedelta(milliseconds=1000)
CLOCK_SLACK = timedelta(milliseconds=50)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def experiment_store(browser_ready):
    """A small demo store with an active model and a running two-variant experiment on home_for_you."""
    cache.clear()  # lists and assignments cached by an earlier test's store must not leak in
    serving_reset()  # also forgets the running experiments and local assignments
    call_command("generate_demo_data", products=120, customers=60, interactions=2500, stdout=StringIO())
    version = model_train(run_key=f"e2e-impressions-{uuid.uuid4()}")
    assert version.status == ModelVersion.Status.ACTIVE, version.error
    experiment = experiment_start(
        experiment=experiment_create(
            fields={"key": EXPERIMENT, "name": "Home blend", "placement": SEEN, "traffic": 100},
            variants=[
                {"key": "control", "weight": 1, "is_control": True, "strategy": "hybrid"},
                {"key": "content", "weight": 1, "is_control": False, "strategy": "content"},
            ],
        )
    )
    yield experiment
    serving_reset()


class BrowserRun:
    """Run the script with --checkpoints, handing each checkpoint's data to `check(name, data)` before it goes on."""

    def __init__(self, base_url: str, tmp_path: Path):
        self.report_path = tmp_path / "report.json"
        self.stderr_path = tmp_path / "stderr.txt"
        self.command = [
            "node", str(SCRIPT), "--base-url", base_url, "--report", str(self.report_path),
            "--screenshots", str(SCREENSHOTS), "--chromium", CHROMIUM, "--checkpoints",
        ]  # fmt: skip
        self.output: list[str] = []

    def run(self, check) -> dict:
        lines: queue.Queue[str | None] = queue.Queue()
        with self.stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                self.command, cwd=FRONTEND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
            )

            def read():
                for line in process.stdout:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=read, daemon=True).start()
            deadline = time.monotonic() + RUN_TIMEOUT
            try:
                while True:
                    line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                    if line is None:
                        break
                    self.output.append(line)
                    if line.startswith("CHECKPOINT "):
                        checkpoint = json.loads(line.removeprefix("CHECKPOINT "))
                        check(checkpoint["name"], checkpoint["data"])  # an AssertionError stops the browser below
                        process.stdin.write("continue\n")
                        process.stdin.flush()
                returncode = process.wait(timeout=30)
            except queue.Empty:
                raise AssertionError(f"the browser run took more than {RUN_TIMEOUT} s:\n{self.log()}") from None
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        assert returncode == 0, (
            f"the browser run failed after step {report.get('steps', ['(none)'])[-1]!r}:\n{report.get('error')}\n{self.log()}"
        )
        return report

    def log(self) -> str:
        stderr = self.stderr_path.read_text() if self.stderr_path.exists() else ""
        return "".join(line for line in self.output if not line.startswith("CHECKPOINT ")) + stderr


def visitor_of(cookies: dict) -> Customer:
    """The customer behind the browser's signed visitor cookie (`v-...`)."""
    name = settings.VISITOR_COOKIE_NAME
    assert name in cookies, f"the page set no {name} cookie: {sorted(cookies)}"
    visitor_id = visitor_id_from_cookie(name, cookies[name])
    assert visitor_id and visitor_id.startswith("v-"), cookies[name]
    return Customer.objects.get(customer_id=visitor_id)


def served(data: dict, request_id: str) -> dict:
    """The list response (captured from the network) that carried `request_id`."""
    found = [entry for entry in data["lists"] if entry["request_id"] == request_id]
    assert len(found) == 1, (request_id, data["lists"])
    return found[0]


def _from_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def posted_events(posts: list[dict], request_id: str) -> list[dict]:
    return [event for post in posts for event in post["events"] if event["request_id"] == request_id]


def assert_shown_prefix(impression: Impression, carousel: dict) -> None:
    """The impression names the cards the page had on screen: a non-empty prefix, shorter than an overflowing row."""
    visible = carousel["shown_positions"]
    assert impression.positions == visible, (impression.positions, carousel)
    assert visible == list(range(len(visible))) and visible, carousel
    assert carousel["cards"] == LIST_LENGTH, carousel
    assert len(visible) < carousel["cards"], f"the row should overflow the {carousel} viewport width"
    assert impression.product_ids == carousel["product_ids"][: len(visible)]


def test_only_carousels_seen_are_recorded_and_a_click_carries_the_variant(experiment_store, live_server, tmp_path):
    experiment: Experiment = experiment_store
    state: dict = {}

    def check(name: str, data: dict) -> None:
        if name == "fold":
            check_fold(data)
        elif name == "scrolled":
            check_scrolled(data)
        elif name == "reloaded":
            check_reloaded(data)
        elif name == "clicked":
            check_clicked(data)

    def check_fold(data: dict) -> None:
        seen, unseen = data["seen"], data["unseen"]
        # The layout this test relies on: one carousel on screen, the other peeking in by less than half.
        assert seen["scroll_y"] == 0, seen
        assert seen["visible_ratio"] >= 0.5, seen
        assert 0 < unseen["visible_ratio"] < 0.5, f"'Trending now' should show less than half of itself: {unseen}"
        assert seen["request_id"] and unseen["request_id"]

        visitor = visitor_of(data["cookies"])
        assignment = Assignment.objects.select_related("variant").get(customer=visitor, experiment=experiment)
        assert assignment.variant.key in {"control", "content"}
        listed = served(data, seen["request_id"])
        assert (listed["experiment"], listed["variant"]) == (EXPERIMENT, assignment.variant.key)
        assert served(data, unseen["request_id"])["experiment"] is None  # no experiment on trending

        # Exactly one impression: the carousel on screen, its list, the stored variant, the visible cards.
        rows = list(Impression.objects.all())
        stored = [(row.placement, row.request_id, row.timestamp.isoformat()) for row in rows]
        assert [(row.placement, row.request_id) for row in rows] == [(SEEN, seen["request_id"])], (
            f"expected only the {SEEN} list {seen['request_id']} (shown at {_from_ms(seen['shown_at']).isoformat()}), "
            f"stored {stored}"
        )
        impression = rows[0]
        assert impression.customer == visitor
        assert (impression.experiment, impression.variant) == (experiment, assignment.variant)
        assert impression.strategy == listed["strategy"]
        assert_shown_prefix(impression, seen)
        # Recorded after a whole second on screen, not at first sight.
        shown_at = _from_ms(seen["shown_at"])
        assert impression.timestamp >= shown_at + DWELL - CLOCK_SLACK, (impression.timestamp, shown_at)

        # The POST carried Django's CSRF token in the header and was accepted.
        posts = data["impression_posts"]
        assert posts and all(post["status"] == 201 for post in posts), posts
        assert all(post["csrf_header"] == data["cookies"]["csrftoken"] for post in posts), posts
        assert [event["request_id"] for post in posts for event in post["events"]] == [seen["request_id"]]
        state.update(visitor=visitor, assignment=assignment, first=impression, unseen_request_id=unseen["request_id"])

    def check_scrolled(data: dict) -> None:
        visitor, unseen_request_id = state["visitor"], state["unseen_request_id"]
        assert data["unseen_in_view"]["visible_ratio"] >= 0.5, data["unseen_in_view"]
        assert data["unseen"]["request_id"] == unseen_request_id  # the same list, not a reload

        rows = Impression.objects.filter(customer=visitor, placement=UNSEEN)
        assert [row.request_id for row in rows] == [unseen_request_id]
        impression = rows[0]
        assert (impression.experiment, impression.variant) == (None, None)
        assert_shown_prefix(impression, data["unseen_in_view"])
        scrolled_at = _from_ms(data["scrolled_at"])
        assert impression.timestamp >= scrolled_at + DWELL - CLOCK_SLACK, (impression.timestamp, scrolled_at)

        # Scrolled away and back, each carousel on screen again for over a second: still one each.
        # (Counted on the wire too: the server keeps one row per list whatever the page sends.)
        posts = data["impression_posts"]
        for placement, request_id in ((SEEN, state["first"].request_id), (UNSEEN, unseen_request_id)):
            sent = posted_events(posts, request_id)
            assert len(sent) == 1, f"the {placement} list was posted {len(sent)} times: {sent}"
        assert list(Impression.objects.filter(customer=visitor, placement=SEEN)) == [state["first"]]
        assert Impression.objects.count() == 2

    def check_reloaded(data: dict) -> None:
        visitor, assignment, first = state["visitor"], state["assignment"], state["first"]
        seen = data["seen"]
        assert visitor_of(data["cookies"]) == visitor  # the same visitor after the reload
        assert seen["request_id"] != first.request_id
        listed = served(data, seen["request_id"])
        assert (listed["experiment"], listed["variant"]) == (EXPERIMENT, assignment.variant.key)

        rows = list(Impression.objects.filter(customer=visitor, placement=SEEN).order_by("timestamp"))
        assert [row.request_id for row in rows] == [first.request_id, seen["request_id"]]
        assert {(row.experiment_id, row.variant_id) for row in rows} == {(experiment.pk, assignment.variant_id)}
        assert_shown_prefix(rows[1], seen)
        # The assignment stayed as it was stored at the first exposure.
        assert list(Assignment.objects.filter(customer=visitor)) == [assignment]
        assert Assignment.objects.get(pk=assignment.pk).variant_id == assignment.variant_id
        # The reloaded page's "Trending now" peeks in again and is not recorded.
        assert data["unseen"]["request_id"] != state["unseen_request_id"]
        assert not Impression.objects.filter(request_id=data["unseen"]["request_id"]).exists()
        assert Impression.objects.count() == 3
        assert all(post["status"] == 201 for post in data["impression_posts"]), data["impression_posts"]
        state["list"] = listed

    def check_clicked(data: dict) -> None:
        visitor, assignment, listed = state["visitor"], state["assignment"], state["list"]
        assert data["click_status"] == 201, data
        click = Interaction.objects.get(customer=visitor, kind="click")
        assert click.product.product_id == data["product_id"] == listed["product_ids"][data["position"]]
        assert click.context["experiment"] == EXPERIMENT
        assert click.context["variant"] == assignment.variant.key
        assert click.context["request_id"] == data["request_id"] == listed["request_id"]
        assert click.context["position"] == data["position"]
        assert click.context["placement"] == SEEN
        assert click.context["strategy"] == listed["strategy"]

    report = BrowserRun(live_server.url, tmp_path).run(check)

    assert list(report["checkpoints"]) == ["fold", "scrolled", "reloaded", "clicked"], report["steps"]
    assert report["console_errors"] == [], report["console_errors"]
    assert all(Path(path).is_file() for path in report["screenshots"]) and report["screenshots"]
