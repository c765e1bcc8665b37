"""Celery tasks: thin wrappers over the training service."""

import logging
import uuid

from celery import shared_task
from django.conf import settings

from core.logs import log_context
from recommendations.services import TrainingAlreadyRunning, model_train

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT,
)
def train_models(self, trigger: str = "task") -> int | None:
    """Train and activate a new model version; skipped when another run is in progress."""
    run_key = self.request.id or f"local-{uuid.uuid4()}"
    with log_context(run_key=run_key):  # model_train names its own lines; this covers the skip too
        try:
            version = model_train(run_key=run_key, trigger=trigger)
        except TrainingAlreadyRunning as exc:
            logger.info("Training skipped: %s", exc)
            return None
    return version.pk
