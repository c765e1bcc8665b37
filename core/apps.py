from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting pieces every app relies on: throttling, request logging, cache resilience."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import checks  # noqa: F401  (registers the system checks)
