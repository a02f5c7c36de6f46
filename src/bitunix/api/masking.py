"""The running configuration as JSON with every secret masked (``GET /api/v1/config``).

A value is masked (``"***"``, or ``""`` left as it is so that "not set" stays visible)
when its key names a secret (``secret``, ``token``, ``password``, ``sha256``, ``key``...).
URLs lose their user info, query and fragment, and the ``[notify]`` URLs keep only their
origin (a webhook's path is often its secret).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

__all__ = ["MASK", "masked_config"]

MASK = "***"
_SECRET_KEY = re.compile(r"secret|token|passw|sha256|hash|api_?key|private|credential|signature",
                         re.IGNORECASE)
_ORIGIN_ONLY = ("notify.",)


def masked_config(config: msgspec.Struct) -> dict[str, Any]:
    """``config`` as JSON-ready builtins, secrets masked (see the module docs)."""
    builtins = msgspec.to_builtins(config)
    assert isinstance(builtins, dict)
    out = _mask(builtins, "")
    assert isinstance(out, dict)
    return out


def _mask(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _masked_item(k, v, f"{path}{k}.") for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, path) for v in value]
    if isinstance(value, str) and "://" in value:
        return _url(value, origin_only=path.startswith(_ORIGIN_ONLY))
    return value


def _masked_item(key: str, value: Any, path: str) -> Any:
    if _SECRET_KEY.search(key) and _scalar(value) and value not in ("", None, []):
        return MASK
    return _mask(value, path)


def _scalar(value: Any) -> bool:
    """A value to mask whole (a table, or a list of tables, is walked instead)."""
    if isinstance(value, list):
        return all(_scalar(v) for v in value)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _url(text: str, *, origin_only: bool) -> str:
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = "" if origin_only else parts.path
    if origin_only and parts.path not in ("", "/"):
        path = "/" + MASK
    return urlunsplit((parts.scheme, netloc, path, "", ""))
