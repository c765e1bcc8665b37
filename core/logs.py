"""Log formats, chosen by LOG_FORMAT (plain for a terminal, json for a log collector), and log context.

``log_context(run_key=...)`` adds fields to every record logged inside the block, by any
logger and through any handler (Celery's, pytest's caplog): the records are made with them.
The plain format appends them as ``key=value``; the JSON format has them as keys.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039 (replaced, never mutated)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add ``fields`` to every log record made in this block (this thread or task, and contexts copied from it)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_install() -> None:
    """Make every log record carry the current log context (once per process)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "adds_log_context", False):
        return

    def record_with_context(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        fields = _context.get()
        if fields:
            record.__dict__.update(fields)
            record._context_fields = fields
        return record

    record_with_context.adds_log_context = True
    logging.setLogRecordFactory(record_with_context)


class PlainFormatter(logging.Formatter):
    """One line for people: time, level, logger and message, then the log context as key=value."""

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s", **kwargs) -> None:
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "_context_fields", None)
        if not fields:
            return line
        context = " ".join(f"{key}={value}" for key, value in fields.items())
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{head} {context}{newline}{rest}"


class JsonFormatter(BaseJsonFormatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, extra fields and the log context."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        # Django attaches the request object to its own records; its repr carries the query string.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(**kwargs)
