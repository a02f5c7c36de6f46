"""Secrets never reach a log line: configured values and secret-named fields are masked."""

from __future__ import annotations

import io
import logging

import pytest

from bitunix.exchange import Credentials
from bitunix.exchange.signing import auth_headers
from bitunix.logs import KeyValueFormatter, RedactingFilter, redact


@pytest.mark.parametrize(("text", "want"), [
    ("GET /x?apiKey=abc&sign=0123 ok", "GET /x?apiKey=***&sign=*** ok"),
    ('{"apiKey":"abc","sign": "f\\"f","x":1}', '{"apiKey":"***","sign": "***","x":1}'),
    ("{'api-key': 'k', 'secretKey': 'v'}", "{'api-key': '***', 'secretKey': '***'}"),
    ("api-key: K1 nonce: n", "api-key: *** nonce: n"),
    ("Authorization: Bearer abc.def-123", "Authorization: ***"),
    ("headers {'Authorization': 'Basic dXNlcjpwYXNz'}", "headers {'Authorization': '***'}"),
    ("sent with Bearer eyJhbGciOiJIUzI1NiJ9.x", "sent with Bearer ***"),
    ("a bearer of bad news", "a bearer of bad news"),
    ("POST https://api.telegram.org/bot123456:AA-bb_c/sendMessage",
     "POST https://api.telegram.org/bot***/sendMessage"),
    ("X-Signature=sha256=abcdef", "X-Signature=***"),
    ("design=3 signal=2 token_count=4", "design=3 signal=2 token_count=4"),
])
def test_secret_fields_are_masked(text: str, want: str) -> None:
    assert redact(text) == want


def test_configured_values_are_masked_anywhere() -> None:
    assert redact("key ABCDsecret1 and ABCDsecret12", ["ABCDsecret1", "ABCDsecret12"]) == \
        "key *** and ***2"  # plain replace, in the order given
    flt = RedactingFilter(["ABCDsecret1", "ABCDsecret12", "ab"])
    assert flt.secrets == ["ABCDsecret12", "ABCDsecret1"]  # longest first, short ones dropped


def _emit(flt: RedactingFilter, msg: str, *args: object, exc: BaseException | None = None,
          stack: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(flt)
    logger = logging.Logger("bitunix.test.redact")  # no parent: only this handler hears it
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        if exc is not None:
            try:
                raise exc
            except BaseException:
                logger.exception(msg, *args)
        else:
            logger.debug(msg, *args, stack_info=stack)
    finally:
        handler.close()
    return stream.getvalue()


def test_the_filter_masks_message_args_traceback_and_stack() -> None:
    key, secret = "live-key-0123", "live-secret-4567"
    flt = RedactingFilter([key, secret])
    headers = auth_headers(Credentials(key, secret), 1_700_000_000_000, "n" * 32, None, "{}")
    out = _emit(flt, "-> POST /order headers %s", headers)
    assert key not in out
    assert secret not in out
    assert headers["sign"] not in out
    assert "/order" in out
    assert "nonce" in out
    out = _emit(flt, "failed %s", "x", exc=RuntimeError(f"signature {secret} refused"))
    assert secret not in out
    assert "RuntimeError: signature *** refused" in out
    out = _emit(flt, "with stack %s", key, stack=True)
    assert key not in out
    assert "stack=" in out


def test_a_bad_format_string_is_still_logged_masked() -> None:
    out = _emit(RedactingFilter(["tok-123456"]), "%d apples", "tok-123456")
    assert "tok-123456" not in out
    assert "apples" in out
