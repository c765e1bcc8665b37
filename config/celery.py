"""The Celery application; tasks live in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("storefront")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """Log from workers and beat as the web processes do (settings.LOGGING: LOG_FORMAT, LOG_LEVEL), not Celery's own way."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
