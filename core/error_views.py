"""The API's error views: a 404 for an /api/ path nothing matched, and the project's 500 handler.

API clients get the API's JSON error shape, browsers Django's HTML page. Django calls the 500
handler for an exception nothing else handled (DRF passes those on too), so it must not fail
itself: no database, no templates on the API branch, and never the exception's text.
"""

import re

from django.http import HttpRequest, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from core.api_errors import error_body

# /api/... and the Flask engine's compat paths (recommendations.compat), which answer JSON.
API_PATH = re.compile(r"^/(?:api|recommend)(?:/|$)|^/(?:feedback|health)/?$")


@csrf_exempt
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Answer an /api/ path that no endpoint matched with a 404 in the API's error shape."""
    return JsonResponse(error_body(f"No API endpoint at {request.path}.", "not_found"), status=404)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if API_PATH.match(request.path_info):
        body = error_body("Something went wrong on our side; try again later.", "server_error")
        return JsonResponse(body, status=500)
    return defaults.server_error(request, template_name)
