from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting pieces every app relies on: API errors, throttling, logs, cache, broker, health probes, the SPA."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import checks, throttling  # noqa: F401  (register their system checks)
        from core.logs import log_context_install

        log_context_install()
