"""The OpenAPI schema generator: every rate-limited operation documents its 429 and Retry-After."""

from drf_spectacular.openapi import AutoSchema

from core.api_errors import openapi_error
from core.throttling import DESCRIPTIONS, throttle_scope_of


class ThrottledAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, adding the 429 of a view's ``throttle_scope`` beside its own responses."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        scope = throttle_scope_of(self.view)
        if scope is None or direction != "response" or "429" in responses:
            return responses
        description = f"{DESCRIPTIONS.get(scope, 'Too many requests from this caller')} (`throttled`): the request was not carried out."
        throttled = self._get_response_for_code(openapi_error(description), "429", direction=direction)
        throttled["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer", "minimum": 0},
                "description": "Seconds to wait before this caller's next request in the scope is accepted.",
            }
        }
        return {**responses, "429": throttled}
