"""Catalog responses rendered to JSON text once, cached as text, and sent as they are on every later request."""

import json

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


def json_text(data) -> str:
    """Return ``data`` as the API's JSON renderer writes it (compact, UTF-8); ``None`` is ``null``."""
    return "null" if data is None else JSONRenderer().render(data).decode()


def json_text_response(text: str, *, request: Request) -> HttpResponse:
    """Answer with JSON text rendered earlier, byte for byte what the API's JSON renderer would send."""
    if request.accepted_renderer.format != "json":  # the browsable API (DEBUG) renders the data itself
        return Response(json.loads(text))
    return HttpResponse(text.encode(), content_type="application/json")
