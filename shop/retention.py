"""Interaction retention: delete old browsing events in short batches, so a busy store's history stays bounded.

Which events may go:

- Views and clicks by default. Add-to-cart and purchase events are kept unless named: the
  serving filter "already bought" and the repeat-purchase model read every purchase a
  customer ever made, and the engine weighs purchases highest. Naming them is allowed.
- Accounting never depends on these rows: an order and its lines (``Order``, ``OrderLine``) are
  tables of their own that nothing here touches, and no table refers to an ``Interaction``.
- Clicks that an experiment still reads are kept: the clicks carrying the key of an
  experiment that has not been stopped with its results frozen (``results_snapshot``), since
  its results page counts them live (``experiments.selectors``).

Each batch is one short transaction (select its rows by primary key order, delete them by
id), so a busy store's writers wait for a batch at most, never for the whole prune, and an
interrupted prune keeps what it deleted: running it again finishes the job. After each batch
commits, the customers whose events went and who hold an activity token get a new one
(``shop.activity``): a personal list cached under the old token was computed from events that
are gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from shop.activity import customer_activity_bump, customer_activity_key, user_activity_key
from shop.models import Interaction

DEFAULT_PRUNE_KINDS: tuple[str, ...] = (Interaction.Kind.VIEW, Interaction.Kind.CLICK)
# A batch of 5,000 holds its row locks for ~25-40 ms of database time on a 2M-row table
# (docs/indexes.md); the cap keeps a mistyped size from turning a batch into one long transaction.
DEFAULT_BATCH_SIZE = 5_000
MAX_BATCH_SIZE = 100_000


@dataclass
class PruneReport:
    """What a prune deleted (or, dry, would delete) per kind, and the experiment clicks it kept."""

    cutoff: datetime
    kinds: tuple[str, ...]
    dry_run: bool
    deleted: dict[str, int] = field(default_factory=dict)
    kept_for_experiments: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def summary(self) -> str:
        verb = "Would delete" if self.dry_run else "Deleted"
        per_kind = ", ".join(f"{kind} {self.deleted.get(kind, 0):,}" for kind in self.kinds)
        text = f"{verb} {self.total:,} interactions older than {self.cutoff:%Y-%m-%d %H:%M} UTC ({per_kind})"
        if not self.dry_run:
            text += f" in {self.batches} batch{'es' if self.batches != 1 else ''}"
        if self.kept_for_experiments:
            text += f"; kept {self.kept_for_experiments:,} clicks that unfinished experiments still count"
        return text + "."


@dataclass(frozen=True)
class PruneProgress:
    """After each committed batch: its number, the rows it deleted, and the running total."""

    batch: int
    deleted: int
    total: int
    last_pk: int


def prune_kinds_parse(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Return the event kinds a prune names (comma-separated text or a list), in the model's order.

    Raises ValueError naming the unknown kinds, or when none is named.
    """
    if text is None:
        return DEFAULT_PRUNE_KINDS
    names = text.split(",") if isinstance(text, str) else list(text)
    wanted = {name.strip().lower() for name in names if name.strip()}
    if not wanted:
        raise ValueError(f"Name at least one kind of event to prune: {', '.join(Interaction.Kind.values)}.")
    unknown = sorted(wanted - set(Interaction.Kind.values))
    if unknown:
        raise ValueError(f"Unknown kind {', '.join(repr(kind) for kind in unknown)}; use {', '.join(Interaction.Kind.values)}.")
    return tuple(kind for kind in Interaction.Kind.values if kind in wanted)


def interactions_prune(
    *,
    older_than_days: int,
    kinds: str | Iterable[str] = DEFAULT_PRUNE_KINDS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[PruneProgress], None] | None = None,
) -> PruneReport:
    """Delete the events of these kinds older than ``older_than_days`` days, ``batch_size`` rows per transaction.

    A dry run counts what would go and deletes nothing. Raises ValueError for fewer than
    one day, an unknown kind or a batch size outside 1..MAX_BATCH_SIZE.
    """
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 1:
        raise ValueError(f"The age must be a whole number of days, 1 or more (got {older_than_days!r}).")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"The batch size must be between 1 and {MAX_BATCH_SIZE:,} (got {batch_size!r}).")
    kinds = prune_kinds_parse(kinds)
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    report = PruneReport(cutoff=cutoff, kinds=kinds, dry_run=dry_run, deleted=dict.fromkeys(kinds, 0))

    prunable = Interaction.objects.filter(kind__in=kinds, timestamp__lt=cutoff)
    protected_keys = _live_experiment_keys() if Interaction.Kind.CLICK in kinds else []
    if protected_keys:
        # The text of context["experiment"], '' when absent: an exclude comparing NULL would keep every click without one.
        experiment_key = Coalesce(KeyTextTransform("experiment", "context"), Value(""), output_field=TextField())
        prunable = prunable.alias(experiment_key=experiment_key).exclude(kind=Interaction.Kind.CLICK, experiment_key__in=protected_keys)
        # Counted in the shape of the interaction_click_experiment index, which then answers it (the cast
        # to text is a no-op that keeps SQLite from reading the keys as JSON).
        report.kept_for_experiments = (
            Interaction.objects.filter(kind=Interaction.Kind.CLICK, timestamp__lt=cutoff)
            .alias(experiment=Cast(KeyTextTransform("experiment", "context"), TextField()))
            .filter(experiment__in=protected_keys)
            .count()
        )

    if dry_run:
        for kind, count in prunable.order_by().values_list("kind").annotate(count=Count("pk")):
            report.deleted[kind] = count
        return report

    last_pk = 0
    while True:
        deleted, last_pk = _batch_delete(prunable, after_pk=last_pk, batch_size=batch_size)
        if deleted:
            report.batches += 1
            for kind, count in deleted.items():
                report.deleted[kind] += count
            if progress is not None:
                progress(PruneProgress(batch=report.batches, deleted=deleted.total(), total=report.total, last_pk=last_pk))
        # A short batch found every prunable row left: asking again would scan the rest of the table for nothing.
        if deleted.total() < batch_size:
            return report


def _batch_delete(prunable: QuerySet, *, after_pk: int, batch_size: int) -> tuple[Counter, int]:
    """Delete the next ``batch_size`` prunable rows after ``after_pk`` in one transaction; return counts per kind and the last pk.

    The rows are locked as they are read (PostgreSQL), so the counts are what was deleted
    even while a customer's events are being merged or deleted at the same moment.
    """
    with transaction.atomic():
        rows = list(
            prunable.filter(pk__gt=after_pk)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "kind", "customer__customer_id", "customer__user_id")[:batch_size]
        )
        if not rows:
            return Counter(), after_pk
        pks = [row[0] for row in rows]
        _delete_by_pk(pks)
        transaction.on_commit(
            partial(_bump_cached_activity, customer_ids={row[2] for row in rows}, user_ids={row[3] for row in rows if row[3] is not None}),
            robust=True,
        )
    return Counter(row[1] for row in rows), pks[-1]


def _delete_by_pk(pks: list[int]) -> None:
    """Delete these interactions (no signal or relation depends on them), in one statement where the database allows.

    On PostgreSQL the ids travel as one array parameter: a list of thousands of placeholders
    costs the driver more to build than the database spends deleting. SQLite caps the
    parameters of one statement, so it deletes in chunks.
    """
    if connection.vendor == "postgresql":
        name = connection.ops.quote_name
        with connection.cursor() as cursor:
            pk = Interaction._meta.pk
            cursor.execute(f"DELETE FROM {name(Interaction._meta.db_table)} WHERE {name(pk.column)} = ANY(%s::{pk.cast_db_type(connection)}[])", [pks])
        return
    chunk = connection.features.max_query_params or len(pks)
    for start in range(0, len(pks), chunk):
        Interaction.objects.filter(pk__in=pks[start : start + chunk]).delete()


def _bump_cached_activity(*, customer_ids: set[str], user_ids: set[int]) -> None:
    """Give a new activity token to those of these customers (and users) that have one in the cache.

    Only a customer with a token can have a personal list cached under it: one without (never
    read, or not for ACTIVITY_TIMEOUT) gets a new token at their next request, before the
    database is read, so their next list already leaves the pruned events out. Called after the
    batch commits, so every token that a list of the old rows was cached under is present
    here. One read of a batch's keys instead of writing thousands of tokens nobody holds.
    """
    keys = {customer_activity_key(customer_id): ("customer", customer_id) for customer_id in customer_ids}
    keys |= {user_activity_key(user_pk): ("user", user_pk) for user_pk in user_ids}
    held = [keys[key] for key in cache.get_many(list(keys))]
    if held:
        customer_activity_bump(
            customer_ids=[value for kind, value in held if kind == "customer"],
            user_ids=[value for kind, value in held if kind == "user"],
        )


def _live_experiment_keys() -> list[str]:
    """Return the keys of experiments whose results are still counted from live clicks.

    The experiments app builds on this one, so its model is looked up by name, not imported.
    """
    if not apps.is_installed("experiments"):
        return []
    experiments = apps.get_model("experiments", "Experiment").objects
    return list(experiments.exclude(status="stopped", results_snapshot__isnull=False).values_list("key", flat=True))
