"""Reading the bot's configuration: one TOML file, environment overrides, secrets apart.

* The file is TOML (``--config FILE``); every key is optional and defaulted
  (``examples/bitunix-bot.toml`` lists them all with their defaults and meaning).
* An environment variable ``BITUNIX_CFG_<KEY>`` overrides a key; nested keys join their
  parts with ``__`` (``BITUNIX_CFG_RISK__LIMITS__MAX_DAILY_LOSS_PCT=3``). The value is read
  as a TOML value when it parses as one (``false``, ``3``, ``["BTCUSDT"]``), else as a string.
* Secrets never live in the file: ``BITUNIX_API_KEY`` / ``BITUNIX_API_SECRET`` from the
  environment, or an owner-only file (``venue.secrets_file`` or ``BITUNIX_SECRETS_FILE``)
  holding ``api_key = "..."`` and ``api_secret = "..."``, or the same pair encrypted
  (:mod:`bitunix.config.secrets`).

Every problem is a :class:`~bitunix.core.errors.ConfigError` of one line that names the
file (or variable), the key and the bad value, never a secret.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from bitunix.config.secrets import check_owner_only, decrypt_pair, is_encrypted, master_key
from bitunix.core.errors import ConfigError

__all__ = ["ENV_PREFIX", "Secrets", "apply_env", "convert_config", "load_secrets", "read_toml"]

ENV_PREFIX = "BITUNIX_CFG_"
_SECRET_KEYS = frozenset({"api_key", "api_secret", "secret", "secret_key", "apikey"})
_T = TypeVar("_T")


class Secrets(msgspec.Struct, frozen=True, kw_only=True):
    """The API key pair; ``repr`` never shows the secret."""

    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return f"Secrets(api_key={self.api_key[:4]}***, api_secret=***)"

    __str__ = __repr__


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; refuses secrets in it."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path}: is a directory") from None
    except PermissionError:
        raise ConfigError(f"config file {path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    _refuse_secrets(data, str(path), ())
    return data


def _refuse_secrets(data: Mapping[str, Any], where: str, prefix: tuple[str, ...]) -> None:
    for key, value in data.items():
        if key.lower() in _SECRET_KEYS:
            dotted = ".".join((*prefix, key))
            raise ConfigError(
                f"{where}: key {dotted} holds a secret; secrets come only from the environment "
                "(BITUNIX_API_KEY, BITUNIX_API_SECRET) or an owner-only secrets file"
            )
        if isinstance(value, Mapping):
            _refuse_secrets(value, where, (*prefix, key))


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with every ``BITUNIX_CFG_*`` variable of ``environ`` applied on top."""
    out = _deep_copy(data)
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        if not all(re.fullmatch(r"[a-z0-9_]+", p) for p in path):
            raise ConfigError(f"environment {name}: not a configuration key")
        if path[-1] in _SECRET_KEYS:
            raise ConfigError(f"environment {name}: secrets are read from BITUNIX_API_KEY and "
                              "BITUNIX_API_SECRET, not from a configuration override")
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}: {part} is not a section")
            node = child
        node[path[-1]] = _env_value(environ[name])
    return out


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def convert_config(data: Mapping[str, Any], config_type: type[_T], source: str) -> _T:
    """``data`` as ``config_type``; an unknown key or a bad value is a ConfigError naming
    ``source``, the dotted key and the value."""
    try:
        return msgspec.convert(data, type=config_type)
    except msgspec.ValidationError as exc:
        if isinstance(exc.__cause__, ConfigError):  # a section's own check names its key
            raise ConfigError(f"{source}: {exc.__cause__}") from None
        message = str(exc)
        match = re.search(r"at `\$(?P<path>[^`]*)`", message)
        key = _dotted(match.group("path")) if match else ""
        unknown = re.match(r"Object contains unknown field `(?P<field>[^`]+)`", message)
        if unknown:
            key = ".".join(p for p in (key, unknown.group("field")) if p)
            raise ConfigError(f"{source}: unknown key {key}") from None
        reason = message.split(" - at ", maxsplit=1)[0]
        value = _lookup(data, key)
        shown = "" if value is _MISSING else f" (was {value!r})"
        raise ConfigError(f"{source}: key {key or '<top>'}: {reason}{shown}") from None


_MISSING = object()


def _dotted(path: str) -> str:
    parts = re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path)
    out: list[str] = []
    for name, index in parts:
        if name:
            out.append(name)
        else:
            out[-1 if out else 0:] = [f"{out[-1] if out else ''}[{index}]"]
    return ".".join(out)


def _lookup(data: Any, dotted: str) -> Any:
    node = data
    for part in filter(None, dotted.split(".")):
        name, _, rest = part.partition("[")
        try:
            if name:
                node = node[name]
            for index in re.findall(r"(\d+)\]", "[" + rest if rest else ""):
                node = node[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def load_secrets(environ: Mapping[str, str], secrets_file: str = "") -> Secrets | None:
    """The API key pair from the environment or an owner-only file; None when neither has
    one. A file readable by group or others is refused (its name is given, never its
    content). An encrypted file (``bitunix-bot secrets encrypt``) is opened with the key
    from ``BITUNIX_SECRETS_KEY`` / ``BITUNIX_SECRETS_KEY_FILE`` (``bitunix.config.secrets``)."""
    key = environ.get("BITUNIX_API_KEY", "")
    secret = environ.get("BITUNIX_API_SECRET", "") or environ.get("BITUNIX_SECRET_KEY", "")
    if key or secret:
        if not (key and secret):
            missing = "BITUNIX_API_SECRET" if key else "BITUNIX_API_KEY"
            raise ConfigError(f"environment: {missing} is not set (both are needed)")
        return Secrets(api_key=key, api_secret=secret)
    path_text = secrets_file or environ.get("BITUNIX_SECRETS_FILE", "")
    if not path_text:
        return None
    path = Path(path_text).expanduser()
    check_owner_only(path, "secrets file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        raise ConfigError(f"secrets file {path}: not valid TOML") from None
    if is_encrypted(data):
        pair = decrypt_pair(data, master_key(environ), f"secrets file {path}")
        return Secrets(api_key=pair[0], api_secret=pair[1])
    file_key, file_secret = data.get("api_key"), data.get("api_secret")
    if not (isinstance(file_key, str) and file_key and isinstance(file_secret, str)
            and file_secret):
        raise ConfigError(f"secrets file {path}: needs api_key and api_secret strings")
    return Secrets(api_key=file_key, api_secret=file_secret)


def environment() -> dict[str, str]:
    """A copy of the process environment (the one place that reads ``os.environ``)."""
    return dict(os.environ)
