"""Which variant a list request is served: running experiments per placement, sticky assignments.

Hot path. Each process keeps the running experiments (with their variants) and re-reads
them at most every ``RECOMMENDATION_MODEL_CHECK_SECONDS`` (one query), the same interval as
the model check. A visitor's variant is a pure function of (salt, customer id)
(:mod:`experiments.assignment`), but the stored ``Assignment`` wins, so that changing weights
never moves anyone: the first exposure stores it, and afterwards it is read from a per-process
LRU, then Redis, and only then the database. Stored assignments never change, so the
per-process copy is never stale. A cached list for an assigned visitor therefore runs no query.

Who is the unit: the named customer (a token client or staff asking for someone's list), the
signed-in user's customer, or the visitor cookie's customer. A visitor whose cookie was minted
by this very request (a crawler, a cookie-less client) is not entered: the storefront always
loads its page before it asks for lists, so a real shopper's first list already has a cookie.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from core.api_errors import ApiError
from experiments.assignment import enters, variant_index
from experiments.models import Assignment, Experiment, Variant
from recommendations import serving as recommendation_serving
from shop.models import Customer
from shop.services import customer_for_request, customer_get_or_create

logger = logging.getLogger(__name__)

ASSIGNMENT_CACHE_TIMEOUT = 60 * 60 * 24 * 30
LOCAL_ASSIGNMENTS = 50_000
NOT_ENTERED = 0  # cached for a signed-in user whose customer's bucket is outside the traffic
INTERLEAVED = -1  # entered an interleaving experiment: no variant, both are merged
QA_REQUEST_PREFIX = "qa-"


@dataclass(frozen=True)
class RunningVariant:
    pk: int
    key: str
    weight: float
    is_control: bool
    config: dict
    digest: str


@dataclass(frozen=True)
class RunningExperiment:
    pk: int
    key: str
    placement: str
    salt: str
    traffic: float
    variants: tuple[RunningVariant, ...]
    kind: str = Experiment.Kind.AB

    @property
    def is_interleaving(self) -> bool:
        return self.kind == Experiment.Kind.INTERLEAVING

    def variant_for(self, customer_id: str) -> RunningVariant:
        """The variant the hash gives this customer now (a stored assignment overrides it)."""
        return self.variants[variant_index(self.salt, customer_id, [variant.weight for variant in self.variants])]

    def variant_by_pk(self, pk: int) -> RunningVariant | None:
        return next((variant for variant in self.variants if variant.pk == pk), None)

    def variant_by_key(self, key: str) -> RunningVariant | None:
        return next((variant for variant in self.variants if variant.key == key), None)


@dataclass(frozen=True)
class Arm:
    """The experiment and variant a list is served under; ``qa`` when staff forced it (never counted).

    An interleaving arm has no variant: ``teams`` holds team A's (the control's) and team B's
    configs and digests, whose lists the caller merges by team draft.
    """

    experiment: str
    variant: str | None
    config: dict | None
    digest: str
    qa: bool = False
    teams: tuple[tuple[dict, str], tuple[dict, str]] | None = None


def config_digest(config: dict) -> str:
    return hashlib.blake2b(json.dumps(config, sort_keys=True).encode(), digest_size=5).hexdigest()


class RunningExperiments:
    """The running experiments by placement, re-read at most every model-check interval."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._by_placement: dict[str, RunningExperiment] = {}
        self._read_at: float | None = None

    def get(self, placement: str) -> RunningExperiment | None:
        clock = recommendation_serving.clock
        interval = recommendation_serving.model_check_seconds()
        if self._read_at is None or clock() - self._read_at >= interval:
            with self._lock:
                if self._read_at is None or clock() - self._read_at >= interval:
                    try:
                        self._by_placement = running_experiments_read()
                    except DatabaseError:
                        if self._read_at is None:
                            raise
                        logger.warning("Could not read the running experiments; keeping the last known ones")
                    self._read_at = clock()
        return self._by_placement.get(placement)


def running_experiments_read() -> dict[str, RunningExperiment]:
    """Read every running experiment with its variants (one query)."""
    rows = (
        Variant.objects.filter(experiment__status=Experiment.Status.RUNNING)
        .select_related("experiment")
        .order_by("experiment_id", "id")
    )
    grouped: dict[int, list[Variant]] = {}
    for variant in rows:
        grouped.setdefault(variant.experiment_id, []).append(variant)
    found = {}
    for variants in grouped.values():
        experiment = variants[0].experiment
        found[experiment.placement] = RunningExperiment(
            pk=experiment.pk,
            key=experiment.key,
            placement=experiment.placement,
            salt=experiment.hash_salt,
            traffic=float(experiment.traffic),
            kind=experiment.kind,
            variants=tuple(
                RunningVariant(
                    pk=variant.pk,
                    key=variant.key,
                    weight=variant.weight,
                    is_control=variant.is_control,
                    config=variant.serving_config,
                    digest=config_digest(variant.serving_config),
                )
                for variant in variants
            ),
        )
    return found


class LocalAssignments:
    """A per-process LRU of stored assignments: (experiment pk, who) -> variant pk (or NOT_ENTERED)."""

    def __init__(self, size: int = LOCAL_ASSIGNMENTS):
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, str], int] = OrderedDict()

    def get(self, key: tuple[int, str]) -> int | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def set(self, key: tuple[int, str], value: int) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, key: tuple[int, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


running_experiments = RunningExperiments()
local_assignments = LocalAssignments()


def experiments_serving_reset() -> None:
    """Forget the running experiments and local assignments (tests; experiment state changes)."""
    running_experiments.reset()
    local_assignments.clear()


def assignment_cache_key(experiment_pk: int, who: str) -> str:
    return f"exp:a:{experiment_pk}:{who}"


@dataclass(frozen=True)
class Subject:
    """Who a list request is for, as far as experiments care.

    ``who`` names the cache entry (``c<customer id>`` or ``u<user pk>``); ``customer_id`` is
    known without the database for a visitor or a named customer; ``resolve`` returns the
    Customer row (created on first sight) when the assignment must be read or stored.
    """

    who: str
    customer_id: str | None
    resolve: object  # Callable[[], Customer]


def arm_for_request(*, placement: str, subject: Subject | None, request_id: str) -> Arm | None:
    """Return the arm to serve a list in ``placement`` under, storing the assignment at the first exposure.

    None when no experiment runs there, the subject cannot be entered (a brand-new visitor),
    or their bucket is outside the traffic.
    """
    experiment = running_experiments.get(placement)
    if experiment is None or subject is None:
        return None
    if subject.customer_id is not None and not enters(experiment.salt, subject.customer_id, experiment.traffic):
        return None
    variant_pk = _assigned_variant_pk(experiment, subject, request_id)
    if variant_pk == INTERLEAVED and experiment.is_interleaving:
        return interleaved_arm(experiment)
    variant = experiment.variant_by_pk(variant_pk) if variant_pk else None
    if variant is None:
        return None
    return Arm(experiment=experiment.key, variant=variant.key, config=variant.config, digest=variant.digest)


def interleaved_arm(experiment: RunningExperiment) -> Arm:
    """The arm of an interleaving experiment: the control's ranking is team A, the other variant's team B."""
    team_a = next(variant for variant in experiment.variants if variant.is_control)
    team_b = next(variant for variant in experiment.variants if not variant.is_control)
    return Arm(
        experiment=experiment.key,
        variant=None,
        config=None,
        digest=f"{team_a.digest}.{team_b.digest}",
        teams=((team_a.config, team_a.digest), (team_b.config, team_b.digest)),
    )


def arm_forced(*, placement: str, experiment_key: str, variant_key: str) -> Arm:
    """Return the arm staff asked for with ``?variant=<experiment>:<variant>`` (never stored, never counted).

    Raises LookupError naming what does not exist or does not run on this placement.
    """
    experiment = Experiment.objects.filter(key=experiment_key).first()
    if experiment is None:
        raise LookupError(f"No experiment '{experiment_key}'.")
    if experiment.placement != placement:
        raise LookupError(f"Experiment '{experiment_key}' runs on {experiment.placement}, not {placement}.")
    variant = experiment.variants.filter(key=variant_key).first()
    if variant is None:
        raise LookupError(f"Experiment '{experiment_key}' has no variant '{variant_key}'.")
    config = variant.serving_config
    return Arm(experiment=experiment.key, variant=variant.key, config=config, digest=config_digest(config), qa=True)


@dataclass(frozen=True)
class ArmPreview:
    """The arm a customer's next list in a placement is served under, and how that was decided (nothing stored)."""

    arm: Arm | None
    note: str


def arm_preview(*, placement: str, customer: Customer | None) -> ArmPreview:
    """Return the arm ``customer`` (None: a brand-new visitor) gets in ``placement``, reading but never storing an assignment.

    For the staff explain page: the stored assignment wins, else the hash decides what the
    first exposure would store.
    """
    experiment = running_experiments.get(placement)
    if experiment is None:
        return ArmPreview(None, "No experiment runs on this placement.")
    if customer is None:
        return ArmPreview(None, f"Experiment '{experiment.key}' runs here, but a visitor without a cookie is not entered.")
    stored = list(Assignment.objects.filter(experiment_id=experiment.pk, customer=customer).values_list("variant_id", flat=True)[:1])
    if not stored:
        if not enters(experiment.salt, customer.customer_id, experiment.traffic):
            return ArmPreview(None, f"Experiment '{experiment.key}' runs here; this customer's bucket is outside its traffic.")
        how = "the hash would assign it at the first exposure"
        variant = None if experiment.is_interleaving else experiment.variant_for(customer.customer_id)
    else:
        how = "stored assignment"
        variant = experiment.variant_by_pk(stored[0]) if stored[0] else None
    if experiment.is_interleaving:
        return ArmPreview(interleaved_arm(experiment), f"Interleaving experiment '{experiment.key}' ({how}).")
    if variant is None:
        return ArmPreview(None, f"Experiment '{experiment.key}': the stored variant no longer exists.")
    arm = Arm(experiment=experiment.key, variant=variant.key, config=variant.config, digest=variant.digest)
    return ArmPreview(arm, f"Experiment '{experiment.key}', variant '{variant.key}' ({how}).")


def _assigned_variant_pk(experiment: RunningExperiment, subject: Subject, request_id: str) -> int:
    key = (experiment.pk, subject.who)
    found = local_assignments.get(key)
    if found is not None:
        return found
    cache_key = assignment_cache_key(experiment.pk, subject.who)
    cached = cache.get(cache_key)
    if isinstance(cached, int):
        local_assignments.set(key, cached)
        return cached
    found = _assignment_read_or_store(experiment, subject, request_id)
    cache.set(cache_key, found, timeout=ASSIGNMENT_CACHE_TIMEOUT)
    local_assignments.set(key, found)
    return found


def _assignment_read_or_store(experiment: RunningExperiment, subject: Subject, request_id: str) -> int:
    """Return the stored variant of the subject's customer, storing the hashed one at the first exposure."""
    customer = subject.resolve()
    stored = Assignment.objects.filter(experiment_id=experiment.pk, customer=customer).values_list("variant_id", flat=True)
    if stored:
        return stored[0] or INTERLEAVED
    if not enters(experiment.salt, customer.customer_id, experiment.traffic):
        return NOT_ENTERED
    variant_pk = None if experiment.is_interleaving else experiment.variant_for(customer.customer_id).pk
    try:
        with transaction.atomic():
            Assignment.objects.create(
                experiment_id=experiment.pk,
                customer=customer,
                variant_id=variant_pk,
                assigned_at=timezone.now(),
                request_id=request_id[:64],
            )
    except IntegrityError:
        # The same visitor's other request stored it first (or the experiment is gone): read what won.
        stored = Assignment.objects.filter(experiment_id=experiment.pk, customer=customer).values_list("variant_id", flat=True)
        return (stored[0] or INTERLEAVED) if stored else NOT_ENTERED
    return variant_pk or INTERLEAVED


def subject_for_request(*, request, customer) -> Subject | None:
    """Return who a list request is for (``customer``: the CustomerRef the list reads), None when not enterable."""
    if customer.customer_id is not None:
        customer_id = customer.customer_id

        def named():
            found = Customer.objects.filter(customer_id=customer_id).first()
            if found is None:
                raise ApiError(f"Customer '{customer_id}' not found.", code="customer_not_found", status_code=404)
            return found

        return Subject(who=f"c{customer_id}", customer_id=customer_id, resolve=named)
    if customer.user_id is not None:
        return Subject(who=f"u{customer.user_id}", customer_id=None, resolve=lambda: customer_for_request(request=request))
    if customer.visitor_id:
        visitor_id = customer.visitor_id
        return Subject(who=f"c{visitor_id}", customer_id=visitor_id, resolve=lambda: customer_get_or_create(customer_id=visitor_id))
    return None  # a visitor whose cookie this request minted
