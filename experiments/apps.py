from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "experiments"

    def ready(self) -> None:
        from experiments import receivers, serving  # noqa: F401 (connects signal receivers)
        from recommendations.serving import serving_reset_hooks

        if serving.experiments_serving_reset not in serving_reset_hooks:
            serving_reset_hooks.append(serving.experiments_serving_reset)
