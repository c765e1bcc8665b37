"""A JSON parser that answers 400, never 500, for JSON that PostgreSQL or Python cannot take."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, also refusing deep nesting, NUL characters and lone surrogates (400 `parse_error`).

    DRF turns only ValueError into a 400: a deeply nested body raises RecursionError, and a
    ``\\u0000`` or an unpaired ``\\ud800`` in a string reaches the database as an error.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        _check(data, depth=0)
        return data


def _check(value, *, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth=depth + 1)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ParseError("JSON parse error - strings must not contain NUL (\\u0000) characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON parse error - strings must not contain unpaired surrogates.") from None


