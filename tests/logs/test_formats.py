"""The kv and json line formats: one line per record, the fields in order."""

from __future__ import annotations

import json
import logging

import pytest

from bitunix.core.errors import ConfigError
from bitunix.logs import JsonFormatter, KeyValueFormatter, make_formatter


def _record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad value\nsecond line")
        except ValueError:
            import sys
            exc_info = sys.exc_info()
    record = logging.LogRecord("bitunix.test", logging.INFO, __file__, 1, msg, args, exc_info)
    record.created = 1_796_234_252.5
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_kv_line() -> None:
    line = KeyValueFormatter().format(_record("filled %s at %s", "BTCUSDT", "97000.5",
                                              order="bx-1"))
    assert line == ('ts=2026-12-02T17:57:32.500Z level=INFO logger=bitunix.test '
                    'msg="filled BTCUSDT at 97000.5" order=bx-1')


def test_kv_quotes_what_would_break_a_pair_and_keeps_one_line() -> None:
    line = KeyValueFormatter().format(_record('a="b" c=d\\', exc=True))
    assert "\n" not in line
    assert 'msg="a=\\"b\\" c=d\\\\"' in line
    assert 'exc="Traceback' in line
    assert "second line" in line


def test_json_line_parses_with_every_field() -> None:
    line = JsonFormatter().format(_record("x %d", 3, exc=True, symbol="ETHUSDT", qty=2))
    assert "\n" not in line
    data = json.loads(line)
    assert list(data) == ["ts", "level", "logger", "msg", "symbol", "qty", "exc"]
    assert data["msg"] == "x 3"
    assert data["ts"] == "2026-12-02T17:57:32.500Z"
    assert data["qty"] == 2
    assert data["exc"].startswith("Traceback")
    assert "ValueError: bad value" in data["exc"]


def test_json_writes_unserialisable_values_as_text() -> None:
    from decimal import Decimal

    data = json.loads(JsonFormatter().format(_record("m", pnl=Decimal("-0.877849370"))))
    assert data["pnl"] == "-0.877849370"


def test_make_formatter() -> None:
    assert isinstance(make_formatter("kv"), KeyValueFormatter)
    assert isinstance(make_formatter("json"), JsonFormatter)
    with pytest.raises(ConfigError, match=r"key log\.format: must be kv or json"):
        make_formatter("xml")


def test_stack_info_is_a_field() -> None:
    record = _record("m")
    record.stack_info = "Stack (most recent call last):\n  here"
    assert json.loads(JsonFormatter().format(record))["stack"].endswith("here")
