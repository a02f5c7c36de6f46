"""The two line formats: ``kv`` (key=value) and ``json``; both one line per record.

Fields, in this order: ``ts`` (UTC, ISO 8601 with milliseconds and ``Z``), ``level``,
``logger``, ``msg``, then any ``extra=`` fields of the call, then ``exc`` (the traceback)
and ``stack`` when there are. A line never spans two lines: the kv format quotes a value
holding a space, a quote, ``=`` or a control character as a JSON string.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

from bitunix.core.errors import ConfigError

__all__ = ["JsonFormatter", "KeyValueFormatter", "make_formatter", "record_fields"]

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def _utc(created: float) -> str:
    secs = int(created)
    millis = int((created - secs) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}Z"


def record_fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    """The fields of ``record`` in line order (see the module docs)."""
    fields: dict[str, Any] = {
        "ts": _utc(record.created),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_") and key not in fields:
            fields[key] = value
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        fields["exc"] = record.exc_text
    if record.stack_info:
        fields["stack"] = formatter.formatStack(record.stack_info)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values that JSON cannot hold are written as text."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record, self), default=str, ensure_ascii=False)


def _kv_value(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and not any(c in text for c in ' "=\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """``key=value`` pairs separated by one space (logfmt)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record, self)
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


def make_formatter(fmt: Literal["kv", "json"] | str) -> logging.Formatter:
    """The formatter of ``fmt`` (``kv`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "kv":
        return KeyValueFormatter()
    raise ConfigError(f"key log.format: must be kv or json (was {fmt!r})")
