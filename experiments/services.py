"""Writes for experiments: create and edit them with their variants, start / pause / stop, record impressions.

Every rule an experiment must keep is checked here (and by database constraints below it),
so the REST API and the admin refuse the same things with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.api_errors import ApiError
from experiments.models import Assignment, Experiment, Impression, Variant
from experiments.serving import QA_REQUEST_PREFIX, experiments_serving_reset
from shop.models import Customer

VARIANT_FIELDS = ("key", "name", "weight", "is_control", "strategy", "w_content", "w_cf", "options")
CONFIG_FIELDS = ("strategy", "w_content", "w_cf", "options", "is_control")
# Changing these after the start would reshuffle who is in which variant, or what a variant means.
FROZEN_ONCE_STARTED = ("key", "placement", "salt", "kind")


def variant_set_errors(variants: Sequence[dict], *, kind: str = Experiment.Kind.AB) -> dict[str, list[str]]:
    """Return what is wrong with a whole set of variants (each a dict of Variant fields), by field name.

    An interleaving experiment merges exactly two rankings: the control is team A, the other team B.
    """
    errors: dict[str, list[str]] = {}
    if len(variants) < 2:
        errors.setdefault("variants", []).append("An experiment needs at least two variants: a control and a treatment.")
    if kind == Experiment.Kind.INTERLEAVING and len(variants) > 2:
        errors.setdefault("variants", []).append("An interleaving experiment merges exactly two variants (A: the control, B).")
    controls = sum(1 for variant in variants if variant.get("is_control"))
    if controls != 1:
        errors.setdefault("is_control", []).append(f"Exactly one variant must be the control; {controls} are.")
    keys = [variant.get("key") for variant in variants]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        errors.setdefault("key", []).append(f"Variant keys must be unique; repeated: {', '.join(duplicates)}.")
    return errors


def _raise_field_errors(errors: dict[str, list[str]], *, prefix: str = "") -> None:
    if not errors:
        return
    name, messages = next(iter(errors.items()))
    raise ApiError(f"{prefix}{name}: {messages[0]}", code="invalid", fields={f"{prefix}{key}" if prefix else key: value for key, value in errors.items()})


def experiment_create(*, fields: dict, variants: Sequence[dict]) -> Experiment:
    """Create a draft experiment with its variants (validated fields), all or nothing."""
    _raise_field_errors(variant_set_errors(variants, kind=fields.get("kind", Experiment.Kind.AB)), prefix="variants.")
    with transaction.atomic():
        experiment = Experiment.objects.create(**{**fields, "status": Experiment.Status.DRAFT})
        Variant.objects.bulk_create([Variant(experiment=experiment, **_variant_values(variant)) for variant in variants])
    return experiment


def experiment_update(*, experiment: Experiment, fields: dict, variants: Sequence[dict] | None = None) -> Experiment:
    """Edit an experiment. A draft may change anything; once started, only what moves nobody.

    Running or paused: weights, traffic, names, texts, the MDE and attribution windows may
    change (stored assignments win, so nobody already in moves); keys, placement, salt and
    the variants' serving configs may not, and no variant may be added or removed.
    A stopped experiment is read-only: its results are frozen.
    """
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status == Experiment.Status.STOPPED:
            raise ApiError("A stopped experiment cannot be edited; its results are frozen.", code="experiment_stopped", status_code=409)
        started = experiment.status != Experiment.Status.DRAFT
        if started:
            frozen = [name for name in FROZEN_ONCE_STARTED if name in fields and fields[name] != getattr(experiment, name)]
            if frozen:
                message = "Cannot change once the experiment has started (it would reshuffle visitors)."
                raise ApiError(f"{frozen[0]}: {message}", code="frozen_field", fields={name: [message] for name in frozen})
        for name, value in fields.items():
            setattr(experiment, name, value)
        experiment.save()
        if variants is None and not started and "kind" in fields:
            variants = list(experiment.variants.values(*VARIANT_FIELDS))  # the new kind must fit the variants
        if variants is not None:
            if started:
                _variants_edit_started(experiment, variants)
            else:
                _raise_field_errors(variant_set_errors(variants, kind=experiment.kind), prefix="variants.")
                experiment.variants.all().delete()
                Variant.objects.bulk_create([Variant(experiment=experiment, **_variant_values(variant)) for variant in variants])
    _changed()
    return experiment


def _variants_edit_started(experiment: Experiment, variants: Sequence[dict]) -> None:
    existing = {variant.key: variant for variant in experiment.variants.all()}
    given = {variant.get("key"): variant for variant in variants}
    if set(given) != set(existing):
        missing, added = sorted(set(existing) - set(given)), sorted(set(given) - set(existing))
        message = "Variants cannot be added or removed once the experiment has started"
        detail = "; ".join(part for part in (f"missing: {', '.join(missing)}" if missing else "", f"new: {', '.join(added)}" if added else "") if part)
        raise ApiError(f"variants: {message} ({detail}).", code="variants_frozen", fields={"variants": [f"{message} ({detail})."]})
    for key, values in given.items():
        variant = existing[key]
        changed = [name for name in CONFIG_FIELDS if name in values and values[name] != getattr(variant, name)]
        if changed:
            message = f"Variant '{key}': its serving config cannot change once the experiment has started."
            raise ApiError(f"variants.{changed[0]}: {message}", code="variants_frozen", fields={f"variants.{changed[0]}": [message]})
        for name in ("name", "weight"):
            if name in values:
                setattr(variant, name, values[name])
        variant.save(update_fields=["name", "weight"])


def _variant_values(variant: dict) -> dict:
    values = {name: variant[name] for name in VARIANT_FIELDS if name in variant}
    values.setdefault("name", "")
    values["name"] = values["name"] or values["key"]
    values["options"] = values.get("options") or {}
    return values


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Start (or resume) an experiment; at most one runs per placement (the database says so too)."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status == Experiment.Status.RUNNING:
            return experiment
        if experiment.status == Experiment.Status.STOPPED:
            raise ApiError("A stopped experiment cannot be started again; copy it into a new one.", code="experiment_stopped", status_code=409)
        variants = list(experiment.variants.values(*VARIANT_FIELDS))
        _raise_field_errors(variant_set_errors(variants, kind=experiment.kind), prefix="variants.")
        other = Experiment.objects.filter(placement=experiment.placement, status=Experiment.Status.RUNNING).exclude(pk=experiment.pk).first()
        if other is not None:
            raise _placement_taken(other)
        experiment.status = Experiment.Status.RUNNING
        experiment.started_at = experiment.started_at or timezone.now()
        try:
            with transaction.atomic():
                experiment.save(update_fields=["status", "started_at", "updated_at"])
        except IntegrityError:  # another start on the same placement won the race
            other = Experiment.objects.filter(placement=experiment.placement, status=Experiment.Status.RUNNING).first()
            raise _placement_taken(other) from None
    _changed()
    return experiment


def _placement_taken(other: Experiment | None) -> ApiError:
    message = f"Experiment '{other.key if other else '?'}' already runs on this placement; stop or pause it first."
    return ApiError(f"placement: {message}", code="placement_taken", fields={"placement": [message]}, status_code=409)


def experiment_pause(*, experiment: Experiment) -> Experiment:
    """Pause a running experiment: the placement serves its default list, nobody new enters, assignments stay."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status != Experiment.Status.RUNNING:
            raise ApiError(f"Only a running experiment can be paused; this one is {experiment.status}.", code="not_running", status_code=409)
        experiment.status = Experiment.Status.PAUSED
        experiment.save(update_fields=["status", "updated_at"])
    _changed()
    return experiment


def experiment_stop(*, experiment: Experiment, results: Callable[[Experiment], dict] | None = None) -> Experiment:
    """Stop for good: nothing after ``stopped_at`` counts, and the results are kept as they stood."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status == Experiment.Status.STOPPED:
            return experiment
        if experiment.status == Experiment.Status.DRAFT:
            raise ApiError("A draft has not started; delete it instead of stopping it.", code="not_started", status_code=409)
        experiment.status = Experiment.Status.STOPPED
        experiment.stopped_at = timezone.now()
        experiment.save(update_fields=["status", "stopped_at", "updated_at"])
        if results is not None:
            experiment.results_snapshot = results(experiment)
            experiment.save(update_fields=["results_snapshot"])
    _changed()
    return experiment


def _changed() -> None:
    # This process sees the change at once; others within the model-check interval.
    experiments_serving_reset()


@dataclass(frozen=True)
class ImpressionInput:
    """One validated impression: a list the shopper saw, and which of its positions."""

    request_id: str
    placement: str
    positions: list[int]
    product_ids: list[str]
    timestamp: datetime
    event_id: str
    experiment: str | None = None
    strategy: str = ""
    model_version: int | None = None


@dataclass(frozen=True)
class ImpressionResult:
    stored: int
    duplicates: int


def impressions_record(*, items: Sequence[ImpressionInput], customer: Customer) -> ImpressionResult:
    """Store impressions once per list (``request_id``) and per ``event_id``; the rest are duplicates.

    The experiment and variant come from the customer's stored assignment, never from the
    client: an impression names an experiment only if the customer is in it, on its placement,
    and the list was not a QA preview.
    """
    keys = {item.experiment for item in items if item.experiment}
    experiments = {experiment.key: experiment for experiment in Experiment.objects.filter(key__in=keys)}
    assigned = dict(  # an interleaving assignment has no variant: entered is all it says
        Assignment.objects.filter(customer=customer, experiment__key__in=keys).values_list("experiment__key", "variant_id")
    )
    stored = Impression.objects.filter(
        Q(event_id__in={item.event_id for item in items}) | Q(request_id__in={item.request_id for item in items})
    ).values_list("event_id", "request_id")
    seen_events, seen_lists = set(), set()
    for event_id, request_id in stored:
        seen_events.add(event_id)
        seen_lists.add(request_id)
    rows = []
    for item in items:
        if item.event_id in seen_events or item.request_id in seen_lists:
            continue
        seen_events.add(item.event_id)
        seen_lists.add(item.request_id)
        experiment = experiments.get(item.experiment or "")
        counted = (
            experiment is not None
            and experiment.placement == item.placement
            and experiment.key in assigned
            and not item.request_id.startswith(QA_REQUEST_PREFIX)
        )
        rows.append(
            Impression(
                customer=customer,
                request_id=item.request_id,
                placement=item.placement,
                experiment=experiment if counted else None,
                variant_id=assigned[experiment.key] if counted else None,
                strategy=item.strategy,
                model_version=item.model_version,
                positions=item.positions,
                product_ids=item.product_ids,
                timestamp=item.timestamp,
                event_id=item.event_id,
            )
        )
    # A concurrent request with the same lists: the constraints keep one row each.
    Impression.objects.bulk_create(rows, ignore_conflicts=True)
    return ImpressionResult(stored=len(rows), duplicates=len(items) - len(rows))
