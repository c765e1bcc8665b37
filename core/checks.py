"""Start-up checks for settings that would otherwise fail later, one request or one long run at a time."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks


def static_manifest_problem() -> str | None:
    """Why hashed static files cannot be served, or None: with DEBUG off every page naming one would be a 500."""
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    manifest = staticfiles_storage.path(staticfiles_storage.manifest_name)
    try:
        with open(manifest, "rb"):
            return None
    except OSError:
        return (
            f"The static files manifest {manifest} is missing: run `manage.py collectstatic` "
            "(the Docker image does it at build) before starting the server with DEBUG off."
        )


def require_static_manifest() -> None:
    """Refuse to start a server that would answer every admin page with a 500."""
    if problem := static_manifest_problem():
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(problem)


@checks.register(checks.Tags.staticfiles, deploy=True)
def check_static_manifest(app_configs, **kwargs):
    problem = static_manifest_problem()
    return [checks.Error(problem, id="core.E001")] if problem else []


@checks.register()
def check_broker_visibility_timeout(app_configs, **kwargs):
    """A training run still going when the broker's visibility timeout ends is delivered again and runs twice."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    if visibility > settings.TRAINING_HARD_TIME_LIMIT:
        return []
    return [
        checks.Error(
            f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) must exceed the training task's hard time limit "
            f"({settings.TRAINING_HARD_TIME_LIMIT} s), or a long run is redelivered while it still runs.",
            id="core.E002",
        )
    ]
