"""drf-spectacular postprocessing hooks: what the schema must say that no view can."""

# Answered by the HTTP server (gunicorn, or a proxy in front of it) before Django sees the
# request, so with the server's own HTML body rather than the API's error shape.
SERVER_LIMIT_RESPONSES = {
    "414": "The request line (method, path and query string) is longer than the server accepts "
    "(gunicorn's `limit_request_line`, 4094 bytes by default); shorten the query. The body is the server's, not JSON.",
    "431": "A request header, or all of them together, is larger than the server accepts "
    "(gunicorn's `limit_request_field_size` and `limit_request_fields`). The body is the server's, not JSON.",
}


def document_server_limits(result, generator, request, public):
    """Add the HTTP server's own 414 and 431 to every operation: any request may meet those limits."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if responses is None:
                continue
            for status, description in SERVER_LIMIT_RESPONSES.items():
                responses.setdefault(status, {"description": description})
    return result
