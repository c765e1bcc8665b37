"""Serve the storefront SPA (frontend/, built by Vite) from Django itself.

The build's hashed assets are static files under /static/ (frontend/dist is one of
STATICFILES_DIRS, served by whitenoise); its index.html is returned here for every
storefront route, so the SPA's history-mode URLs (/catalog?q=..., /products/P001) can be
shared and reloaded. The response sets the CSRF cookie the SPA echoes on its POSTs.
"""

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

NOT_BUILT = (
    "The storefront has not been built yet. Run `make run`, or build it by hand with "
    "`cd frontend && npm ci && npm run build`, then reload this page.\n"
)

_cache: dict[str, tuple[float, bytes]] = {}


def storefront_index_html() -> bytes:
    """Return the built index.html, read again only when the file changes (a rebuild needs no restart)."""
    path = Path(settings.FRONTEND_DIST_DIR) / "index.html"
    mtime = path.stat().st_mtime
    cached = _cache.get(str(path))
    if cached is None or cached[0] != mtime:
        cached = (mtime, path.read_bytes())
        _cache[str(path)] = cached
    return cached[1]


@require_safe
@ensure_csrf_cookie
def storefront(request: HttpRequest, path: str = "") -> HttpResponse:
    """Return the SPA's index.html; the SPA's router decides what the path shows (its own 404 included)."""
    try:
        html = storefront_index_html()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # The index names the current build's hashed assets: always revalidate it.
    patch_cache_control(response, no_cache=True, max_age=0)
    return response
