"""The WSGI application gunicorn serves; it refuses to start without the static files manifest."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from core.checks import require_static_manifest  # noqa: E402  (needs the app registry loaded above)

require_static_manifest()
