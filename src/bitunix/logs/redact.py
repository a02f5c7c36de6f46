"""Secrets out of log lines: configured values and known secret fields become ``***``.

Two passes over the formatted message (and the traceback): every configured secret value
(the API key and secret, the Telegram bot token, the webhook secret: whatever the caller
registers) is replaced wherever it appears; then the value of any field or header named
like a secret (``api-key``, ``apiKey``, ``secret``, ``sign``, ``signature``, ``token``,
``authorization``, ...) is replaced whether it is written ``name=value``, ``name: value``
or ``"name": "value"``, an HTTP credential (``Bearer <token>``, ``Basic <base64>``) loses
its token, and a Telegram ``/bot<token>/`` URL path loses its token. The
second pass catches what no one registered: a request signature is derived from a fresh
nonce on every request and can never be listed in advance.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["MASK", "SECRET_FIELDS", "RedactingFilter", "redact"]

MASK = "***"
#: Field and header names whose values are secret (compared case-insensitively).
SECRET_FIELDS = ("api-key", "api_key", "apikey", "api-secret", "api_secret", "secret",
                 "secret_key", "secretkey", "sign", "signature", "x-signature",
                 "x-bitunix-signature", "token", "bot_token", "access_token",
                 "authorization", "passphrase", "password")
_NAMES = "|".join(re.escape(n) for n in sorted(SECRET_FIELDS, key=len, reverse=True))
# "name": "value"  /  'name': 'value'
_QUOTED = re.compile(rf"""(?i)(["'])({_NAMES})\1(\s*:\s*)(["'])(?:\\.|(?!\4).)*\4""")
# name=value  /  name: value  (query strings, headers, kv pairs); the value ends at a
# separator. A preceding letter, digit, - or _ means another name (``design=``).
_PLAIN = re.compile(rf"""(?i)(?<![\w-])({_NAMES})(\s*[=:]\s*)(?!\*\*\*)(?!["'])"""
                    r"""(?:(?:bearer|basic)\s+)?[^\s&,;"'}\]]+""")
# An HTTP credential anywhere: "Bearer <token>", "Basic <base64>".
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}")
_TELEGRAM = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every value of ``secrets`` and every secret-named field masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _QUOTED.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{MASK}{m[4]}", text)
    text = _PLAIN.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    return _TELEGRAM.sub(f"/bot{MASK}", text)


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in the record's message and traceback.

    The message is formatted here (``msg % args``) and stored back without its arguments,
    so every handler and formatter after it sees only the masked text. Secrets shorter
    than 4 characters are ignored (masking every ``a`` would destroy the lines and hide
    nothing).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too (a key pair rotated while the bot runs)."""
        # Longest first: a secret that contains another is masked whole.
        self.secrets = sorted({*self.secrets, *(s for s in secrets if len(s) >= 4)},
                              key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what we have rather than nothing
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True
