"""Log formats: plain lines for people, one JSON object a line for collectors, both with the log context."""

import json
import logging
import sys

from core.logs import JsonFormatter, PlainFormatter, log_context

logger = logging.getLogger("core.tests.logs")


def record(message: str = "Activated model %s", *args, **extra) -> logging.LogRecord:
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args or ("v7",), None, extra=extra or None)


def test_records_made_inside_a_log_context_carry_its_fields_and_others_do_not():
    with log_context(run_key="run-1"):
        inside = record()
        with log_context(step="fit"):
            nested = record()
    outside = record()

    assert inside.run_key == "run-1"
    assert (nested.run_key, nested.step) == ("run-1", "fit")
    assert not hasattr(outside, "run_key")


def test_the_plain_format_ends_the_line_with_the_context_before_any_traceback():
    try:
        raise ValueError("bad artifact")
    except ValueError:
        with log_context(run_key="run-1"):
            failed = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "Training failed", (), sys.exc_info())

    first, *traceback = PlainFormatter().format(failed).splitlines()

    assert first.endswith("ERROR core.tests.logs: Training failed run_key=run-1")
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1] == "ValueError: bad artifact"
    assert PlainFormatter().format(record()).endswith("INFO core.tests.logs: Activated model v7")


def test_the_json_format_is_one_object_a_line_with_extras_and_context():
    with log_context(run_key="run-1"):
        line = JsonFormatter().format(record(method="GET", status=200, request=object()))

    assert "\n" not in line
    body = json.loads(line)
    assert body["time"].endswith("+00:00")
    assert {key: body[key] for key in ("level", "logger", "message", "method", "status", "run_key")} == {
        "level": "INFO",
        "logger": "core.tests.logs",
        "message": "Activated model v7",
        "method": "GET",
        "status": 200,
        "run_key": "run-1",
    }
    assert "request" not in body  # Django's request object: its repr would log the query string
