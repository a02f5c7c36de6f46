"""The ``[api]`` section: the control REST API on the run's HTTP listener (``docs/api.md``).

Off by default, and off unless tokens are configured. The configuration holds only the
SHA-256 of each token, never the token: ``bitunix-bot api token --name N --scopes read``
makes one and prints the line for this file. A plain SHA-256 is enough here because a token
is 32 random bytes (256 bits of entropy): a salt or a slow hash protects guessable
passwords, and nothing about a random token can be guessed from its hash.
"""

from __future__ import annotations

import re

import msgspec

from bitunix.core.checks import check_flag
from bitunix.core.errors import ConfigError

__all__ = ["SCOPES", "ApiSection", "ApiToken"]

#: The scopes, each including the ones before it: admin ⊇ trade ⊇ read.
SCOPES = ("read", "trade", "admin")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ApiToken(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One token: who it is (``name``, in the audit trail as ``api:<name>``), the
    lower-case hex SHA-256 of the token (``sha256``) and what it may do (``scopes``)."""

    #: Who uses it: 1-40 letters, digits, ``_``, ``.``, ``-``; unique; ``api:<name>`` in audits.
    name: str
    #: The token's SHA-256, 64 lower-case hex digits (``bitunix-bot api token`` prints it).
    sha256: str
    #: One or more of ``read``, ``trade``, ``admin`` (admin ⊇ trade ⊇ read).
    scopes: list[str]


class ApiSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``enabled``: serve ``/api/v1/...`` and ``/openapi.json`` on the ``[http]``
    listener; ``tokens``: who may call it (at least one when enabled)."""

    #: Serve the control API (needs ``http.enabled`` and one token at least).
    enabled: bool = False
    #: The tokens that may call it, one table per client.
    tokens: list[ApiToken] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        check_flag("key api.enabled", self.enabled)
        if self.enabled and not self.tokens:
            raise ConfigError("key api.tokens: api.enabled = true needs at least one token "
                              "(`bitunix-bot api token --name NAME --scopes read` makes one)")
        names: set[str] = set()
        hashes: set[str] = set()
        for i, token in enumerate(self.tokens):
            key = f"key api.tokens[{i}]"
            if not _NAME.fullmatch(token.name):
                raise ConfigError(f"{key}.name: {token.name!r} is not a name of 1-40 letters, "
                                  "digits, '_', '.' or '-'")
            if token.name in names:
                raise ConfigError(f"{key}.name: {token.name!r} is used twice")
            names.add(token.name)
            if not _HEX64.fullmatch(token.sha256):
                # Never echo the value: it may be the token itself, pasted by mistake.
                raise ConfigError(f"{key}.sha256: not 64 lower-case hex digits (a value of "
                                  f"{len(token.sha256)} characters, not shown: it may be a "
                                  "token); `bitunix-bot api token` prints the hash line")
            if token.sha256 in hashes:
                raise ConfigError(f"{key}.sha256: the same hash as another token")
            hashes.add(token.sha256)
            if not token.scopes:
                raise ConfigError(f"{key}.scopes: empty (one or more of {', '.join(SCOPES)})")
            for scope in token.scopes:
                if scope not in SCOPES:
                    raise ConfigError(f"{key}.scopes: unknown scope {scope!r} (one of "
                                      f"{', '.join(SCOPES)})")
