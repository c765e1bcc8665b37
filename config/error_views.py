"""The project's 500 handler: API clients get the API's JSON error shape, browsers Django's HTML page.

Django calls it for an exception nothing else handled (DRF passes those on too), so it must not
fail itself: no database, no templates on the API branch, and never the exception's text.
"""

import re

from django.http import JsonResponse
from django.views import defaults

from config.api_errors import error_body

# /api/... and the Flask engine's compat paths (recommendations/compat.py), which answer JSON.
API_PATH = re.compile(r"^/(?:api|recommend)(?:/|$)|^/(?:feedback|health)/?$")


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if API_PATH.match(request.path_info):
        body = error_body("Something went wrong on our side; try again later.", "server_error")
        return JsonResponse(body, status=500)
    return defaults.server_error(request, template_name)
