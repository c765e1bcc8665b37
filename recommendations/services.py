"""Training runs and the model registry: train, validate, store, activate, roll back."""

import contextvars
import logging
import tempfile
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from core.logs import log_context
from recommendations.models import ModelVersion, RecommenderSettings

logger = logging.getLogger(__name__)

# A running run writes its heartbeat this often from a thread of its own, so one long step
# (a large EASE fit, reading ten million events) is not taken for a dead worker.
TRAINING_HEARTBEAT_EVERY = timedelta(minutes=1)
# A run whose heartbeat has been silent this long (ten beats missed) is taken as dead: its worker
# was killed. Kept short, since a killed worker's message comes back only after the broker's
# visibility timeout (hours), and until its run is reaped no other run may start.
STALE_TRAINING_AFTER = timedelta(minutes=10)

StepCallback = Callable[[str, float], None]


class TrainingAlreadyRunning(Exception):
    """Another training run holds the single-flight slot."""

    def __init__(self, running: ModelVersion):
        self.running = running
        super().__init__(
            f"A training run is already in progress ({running}, started {running.created_at:%Y-%m-%d %H:%M:%S} UTC)."
        )


class ModelNotActivatable(Exception):
    """The version is not a finished, stored model."""


def training_params(*, recommender_settings: RecommenderSettings) -> dict:
    """Return the engine parameters for the next run, from the staff-edited settings."""
    return {
        "event_weights": recommender_settings.event_weights,
        "half_life_days": recommender_settings.cf_half_life_days,
        "trending_half_life_days": recommender_settings.trending_half_life_days,
        "content_k": recommender_settings.content_neighbors_k,
        "also_bought_k": recommender_settings.content_neighbors_k,
        "k": recommender_settings.cf_neighbors_k,
        "w_content": recommender_settings.w_content,
        "w_cf": recommender_settings.w_cf,
        "min_interactions": recommender_settings.min_interactions,
        "exclude_purchased": recommender_settings.exclude_purchased,
        "diversity": recommender_settings.diversity,
        "category_cap": recommender_settings.category_cap,
    }


def training_runs_reap_stale(*, now=None) -> int:
    """Mark runs whose worker died (no heartbeat for STALE_TRAINING_AFTER) as failed; return how many."""
    now = now or timezone.now()
    return ModelVersion.objects.filter(
        status=ModelVersion.Status.TRAINING, heartbeat_at__lt=now - STALE_TRAINING_AFTER
    ).update(
        status=ModelVersion.Status.FAILED,
        finished_at=now,
        error=(
            f"Interrupted: no progress reported for over {STALE_TRAINING_AFTER.total_seconds():g} s "
            "(the worker was probably stopped)."
        ),
    )


def training_run_start(*, run_key: str, trigger: str) -> ModelVersion:
    """Claim the single-flight slot for a new run, or raise TrainingAlreadyRunning."""
    training_runs_reap_stale()
    now = timezone.now()
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                run_key=run_key, trigger=trigger, status=ModelVersion.Status.TRAINING, heartbeat_at=now
            )
    except IntegrityError:
        running = ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING).first()
        if running is None:  # the run_key itself was taken; the caller checks for that first
            raise
        raise TrainingAlreadyRunning(running) from None


def training_run_fail(*, version: ModelVersion, error: str) -> ModelVersion:
    version.status = ModelVersion.Status.FAILED
    version.error = error
    version.finished_at = timezone.now()
    version.save(update_fields=["status", "error", "finished_at"])
    logger.warning("Training run %s failed: %s", version, error.splitlines()[0] if error else "")
    return version


def model_artifact_problem(*, version: ModelVersion) -> str:
    """Return why the version's stored artifact could not serve (missing, truncated, corrupt), or "".

    Reads the file once through its checksums (a zip's CRC per array) without building the model,
    so activating costs one pass over the file, not a second copy of the model in memory.
    """
    try:
        with version.artifact.open("rb") as handle, zipfile.ZipFile(handle) as archive:
            corrupt_member = archive.testzip()
            members = archive.namelist()
    except Exception as exc:  # a missing file, a truncated archive, a bad block: all mean it cannot be read
        return f"{type(exc).__name__}: {exc}"
    if corrupt_member is not None:
        return f"{corrupt_member} fails its checksum"
    if "bundle.npy" not in members:
        return "not a model bundle (no bundle header)"
    return ""


def model_activate(*, version: ModelVersion) -> ModelVersion:
    """Make this version the one that serves, retiring the previous one, in one transaction.

    A version whose artifact cannot be read is refused, so the model serving now keeps serving.
    """
    current = ModelVersion.objects.get(pk=version.pk)
    if current.status != ModelVersion.Status.ACTIVE and current.can_be_activated:
        if problem := model_artifact_problem(version=current):
            raise ModelNotActivatable(
                f"{current} cannot be activated: its artifact {current.artifact.name} is unreadable ({problem})."
            )
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if version.status == ModelVersion.Status.ACTIVE:
            return version
        if not version.can_be_activated:
            raise ModelNotActivatable(f"{version} cannot be activated: only ready or retired versions with an artifact can.")
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED
        )
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["status", "activated_at"])
    logger.info("Activated model %s", version)
    return version


def model_train(
    *, run_key: str, trigger: str = ModelVersion.Trigger.TASK, on_step: StepCallback | None = None, spread: bool = False
) -> ModelVersion:
    """Train, validate, store and activate a new model version.

    Idempotent per run_key: a redelivered task finds its run. A run found still
    "training" under its own key was interrupted (the worker died mid-run); it is
    recorded as failed rather than retried, so a run that kills its worker cannot loop.
    Whatever fails, the active model stays as it was. Every line logged meanwhile names the run_key.
    ``spread``: the content step may go to the workers (:mod:`recommendations.training_spread`);
    the version then comes back still training, and the chord's callback finishes it.
    """
    with log_context(run_key=run_key):
        return _model_train(run_key=run_key, trigger=trigger, on_step=on_step, spread=spread)


def _model_train(*, run_key: str, trigger: str, on_step: StepCallback | None, spread: bool = False) -> ModelVersion:
    existing = ModelVersion.objects.filter(run_key=run_key).first()
    if existing is not None:
        if existing.status == ModelVersion.Status.TRAINING:
            return training_run_fail(
                version=existing, error="Interrupted: the worker stopped before the run finished; the task was redelivered."
            )
        return existing

    version = training_run_start(run_key=run_key, trigger=trigger)
    with _failing_the_run_on_error(version):
        with _heartbeat_while_running(version):
            return _train_into(version=version, on_step=on_step, spread=spread)
    return ModelVersion.objects.get(pk=version.pk)


@contextmanager
def _failing_the_run_on_error(version: ModelVersion) -> Iterator[None]:
    """Record any error inside the block as the run's failure; only BaseExceptions (a time limit, a kill) propagate."""
    try:
        yield
    except BaseException as exc:
        reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        training_run_fail(version=version, error=f"{reason}\n\n{traceback.format_exc()}")
        if not isinstance(exc, Exception):
            raise


def _heartbeat(version: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.TRAINING).update(heartbeat_at=timezone.now())


@contextmanager
def _heartbeat_while_running(version: ModelVersion) -> Iterator[None]:
    """Beat every TRAINING_HEARTBEAT_EVERY from a daemon thread until the block ends.

    Step boundaries alone leave a single step longer than STALE_TRAINING_AFTER looking
    dead, and training_runs_reap_stale would fail a run that is still working. The thread
    dies with the worker process, so a killed run still goes stale. A failed beat is only
    logged: the next one may succeed, and the run itself must not fail for it.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(TRAINING_HEARTBEAT_EVERY.total_seconds()):
                try:
                    _heartbeat(version)
                except Exception:
                    logger.warning("Could not record the heartbeat of training run %s", version, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    # In a copy of this context, so that what the thread logs names the run too.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(beat,), name=f"training-heartbeat-{version.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _train_into(*, version: ModelVersion, on_step: StepCallback | None, spread: bool = False) -> ModelVersion:
    from recommendations import store_training, training_spread  # the engine glue; imports numpy/pandas/scikit-learn

    params = training_params(recommender_settings=RecommenderSettings.load())
    version.params = params
    version.save(update_fields=["params"])
    report_step = _step_reporter(version, on_step)
    store = store_training.store_frames(on_step=report_step)
    if spread and training_spread.spread_start(version_pk=version.pk, store=store, params=params, on_step=report_step):
        return version  # the chord's callback (model_train_assemble) finishes the run
    result = store_training.train_from_frames(store, params=params, on_step=report_step)
    return _training_result_store(version=version, result=result)


def model_train_block(*, version_pk: int, start: int, end: int) -> None:
    """Compute one block of a spread run's content neighbours; a failing block fails the run (the active model stays)."""
    from recommendations import training_spread

    version = ModelVersion.objects.filter(pk=version_pk, status=ModelVersion.Status.TRAINING).first()
    if version is None:
        return  # the run failed meanwhile (another block, the reaper): nothing to add to
    with log_context(run_key=version.run_key):
        _heartbeat(version)
        try:
            training_spread.spread_block_compute(version_pk=version_pk, start=start, end=end)
        except Exception as exc:
            training_run_fail(version=version, error=f"Content block {start}-{end} failed: {exc!r}\n\n{traceback.format_exc()}")
            training_spread.spread_files_delete(version_pk)
            raise
        _heartbeat(version)


def model_train_assemble(*, version_pk: int, on_step: StepCallback | None = None) -> ModelVersion | None:
    """Finish a spread run once all its blocks are written: stack them, fit the rest, validate, store, activate."""
    from recommendations import training_spread

    version = ModelVersion.objects.filter(pk=version_pk).first()
    if version is None or version.status != ModelVersion.Status.TRAINING:
        training_spread.spread_files_delete(version_pk)
        return version
    with log_context(run_key=version.run_key):
        try:
            with _failing_the_run_on_error(version):
                with _heartbeat_while_running(version):
                    result = training_spread.spread_finish(
                        version_pk=version_pk, params=version.params, on_step=_step_reporter(version, on_step)
                    )
                    return _training_result_store(version=version, result=result)
        finally:
            training_spread.spread_files_delete(version_pk)
    return ModelVersion.objects.get(pk=version.pk)


def _step_reporter(version: ModelVersion, on_step: StepCallback | None) -> StepCallback:
    def report_step(name: str, seconds: float) -> None:
        _heartbeat(version)
        if on_step is not None:
            on_step(name, seconds)

    return report_step


def _training_result_store(*, version: ModelVersion, result) -> ModelVersion:
    """Record a finished training's counts, seconds and metrics; store and activate its bundle unless validation failed."""
    version.product_count = result.product_count
    version.customer_count = result.customer_count
    version.interaction_count = result.interaction_count
    version.step_seconds = result.step_seconds
    version.metrics = result.metrics
    version.cf_algorithm = result.cf_algorithm
    version.save(update_fields=[
        "product_count", "customer_count", "interaction_count", "step_seconds", "metrics", "cf_algorithm",
    ])

    problem = result.validation_error
    if problem:
        return training_run_fail(version=version, error=f"Validation gate: {problem}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"model-{version.pk}.npz"
        result.bundle.save(path)
        with path.open("rb") as handle:
            version.artifact.save(f"model-{version.pk}.npz", File(handle), save=False)
        version.artifact_bytes = path.stat().st_size
    version.status = ModelVersion.Status.READY
    version.finished_at = timezone.now()
    version.save(update_fields=["artifact", "artifact_bytes", "status", "finished_at"])
    return model_activate(version=version)
