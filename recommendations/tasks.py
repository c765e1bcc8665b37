"""Celery tasks: thin wrappers over the training service."""

import logging
import uuid

from celery import shared_task
from django.conf import settings

from core.logs import log_context
from recommendations.services import TrainingAlreadyRunning, model_train, model_train_assemble, model_train_block

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT,
)
def train_models(self, trigger: str = "task") -> int | None:
    """Train and activate a new model version; skipped when another run is in progress.

    With workers to spare the content step is spread over them (``TRAINING_SPREAD``) and the
    version is still training when this task returns: ``train_models_assemble`` finishes it.
    """
    run_key = self.request.id or f"local-{uuid.uuid4()}"
    with log_context(run_key=run_key):  # model_train names its own lines; this covers the skip too
        try:
            version = model_train(run_key=run_key, trigger=trigger, spread=True)
        except TrainingAlreadyRunning as exc:
            logger.info("Training skipped: %s", exc)
            return None
    return version.pk


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=False,  # a chord counts its header's results
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT,
)
def train_content_block(version_pk: int, start: int, end: int) -> list[int]:
    """Write the content neighbours of products ``start:end`` of a spread run (a chord's header task)."""
    model_train_block(version_pk=version_pk, start=start, end=end)
    return [start, end]


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT,
)
def train_models_assemble(version_pk: int) -> int | None:
    """Finish a spread run once every block is written (the chord's callback)."""
    version = model_train_assemble(version_pk=version_pk)
    return version.pk if version else None
