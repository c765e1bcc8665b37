"""Celery tasks: thin wrappers over the shop's services."""

import logging

from celery import shared_task
from django.conf import settings

from shop.retention import interactions_prune

logger = logging.getLogger(__name__)

# A first prune of a large history may take a while; each batch commits on its own, so a run cut
# short by the limit keeps what it deleted and the next night's run carries on.
PRUNE_SOFT_TIME_LIMIT = 2 * 3600


@shared_task(acks_late=True, soft_time_limit=PRUNE_SOFT_TIME_LIMIT, time_limit=PRUNE_SOFT_TIME_LIMIT + 300)
def prune_old_interactions() -> dict[str, int] | None:
    """Apply settings.INTERACTION_RETENTION_DAYS to views and clicks; None when retention is off (keep everything)."""
    days = settings.INTERACTION_RETENTION_DAYS
    if days is None:
        logger.info("Interaction retention is off (INTERACTION_RETENTION_DAYS is not set): nothing pruned.")
        return None
    report = interactions_prune(older_than_days=days)
    logger.info(report.summary())
    return report.deleted
