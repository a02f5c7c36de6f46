"""Secrets at rest: the exchange key pair encrypted in an owner-only file.

Envelope encryption with Fernet (AES-128-CBC + HMAC-SHA256, the ``cryptography``
package): a random *data key* encrypts the key pair, and the *master key* encrypts the
data key. The master key never sits beside the file: it comes from ``BITUNIX_SECRETS_KEY``
(the key itself) or ``BITUNIX_SECRETS_KEY_FILE`` (an owner-only file holding it).
``rotate`` re-encrypts the pair under a fresh data key (and, when given one, wraps that
under a new master key), so a copied old file stops matching the current one.

The file is TOML, so the loaders that read ``venue.secrets_file`` still parse it::

    format = "bitunix-secrets/1"
    data_key = "gAAAAA..."   # the data key, encrypted under the master key
    payload = "gAAAAA..."    # {"api_key": ..., "api_secret": ...} under the data key

Every file (the encrypted one, the key file) must be readable by its owner only; every
problem is one :class:`~bitunix.core.errors.ConfigError` line naming the file or
variable, never a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from bitunix.core.errors import ConfigError

__all__ = [
    "FORMAT",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "check_owner_only",
    "decrypt_pair",
    "encrypt_pair",
    "is_encrypted",
    "master_key",
    "new_master_key",
    "read_key_file",
    "rotate",
    "write_owner_only",
]

FORMAT = "bitunix-secrets/1"
KEY_ENV = "BITUNIX_SECRETS_KEY"
KEY_FILE_ENV = "BITUNIX_SECRETS_KEY_FILE"
_HEADER = ("# bitunix-bot encrypted secrets (bitunix-bot secrets encrypt / rotate-key);"
           " do not edit\n")


def check_owner_only(path: Path, what: str) -> None:
    """Refuse ``path`` unless it exists and neither group nor others may touch it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{what} {path}: readable by others (mode {stat.filemode(mode)});"
                          f" run: chmod 600 {path}")


def plain_secrets(environ: Mapping[str, str], secrets_file: str, keys: tuple[str, ...],
                  *, not_toml_hint: str = "") -> dict[str, str]:
    """``keys`` read from the plain owner-only secrets file (``secrets_file`` or
    ``BITUNIX_SECRETS_FILE``); {} when there is no file. A file others can read, a file
    that is not TOML (``not_toml_hint`` says what to do instead) or a value that is not a
    string is refused, naming the file and the key, never the value."""
    path_text = secrets_file or environ.get("BITUNIX_SECRETS_FILE", "")
    if not path_text:
        return {}
    path = Path(path_text).expanduser()
    check_owner_only(path, "secrets file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"secrets file {path}: does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        hint = f" ({not_toml_hint})" if not_toml_hint else ""
        raise ConfigError(f"secrets file {path}: not valid TOML{hint}") from None
    out: dict[str, str] = {}
    for key in keys:
        if key in data:
            if not isinstance(data[key], str):
                raise ConfigError(f"secrets file {path}: {key} must be a string")
            out[key] = data[key]
    return out


def new_master_key() -> str:
    """A fresh master key (URL-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str | bytes, where: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError):
        raise ConfigError(f"{where}: not a secrets key (32 bytes of URL-safe base64, as "
                          "bitunix-bot secrets keygen writes)") from None


def read_key_file(path: Path) -> Fernet:
    """The master key held in the owner-only file ``path``."""
    check_owner_only(path, "secrets key file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"secrets key file {path}: {exc.strerror}") from None
    return _fernet(raw, f"secrets key file {path}")


def master_key(environ: Mapping[str, str]) -> Fernet:
    """The master key from ``BITUNIX_SECRETS_KEY``, else the file ``BITUNIX_SECRETS_KEY_FILE``."""
    inline = environ.get(KEY_ENV, "")
    if inline:
        return _fernet(inline, f"environment {KEY_ENV}")
    path = environ.get(KEY_FILE_ENV, "")
    if path:
        return read_key_file(Path(path).expanduser())
    raise ConfigError(f"the secrets file is encrypted: set {KEY_ENV} (the key) or "
                      f"{KEY_FILE_ENV} (an owner-only file holding it)")


def is_encrypted(data: Mapping[str, Any]) -> bool:
    """Whether a parsed secrets file is the encrypted form (has ``format``)."""
    return "format" in data


def encrypt_pair(api_key: str, api_secret: str, master: Fernet) -> str:
    """The encrypted file's text for this key pair, under a fresh data key."""
    if not (api_key and api_secret):
        raise ConfigError("secrets: the api key and the api secret must both be non-empty")
    data_key = Fernet.generate_key()
    payload = json.dumps({"api_key": api_key, "api_secret": api_secret}).encode("utf-8")
    return _render(master.encrypt(data_key), Fernet(data_key).encrypt(payload))


def _render(wrapped_key: bytes, token: bytes) -> str:
    return (f'{_HEADER}format = "{FORMAT}"\ndata_key = "{wrapped_key.decode("ascii")}"\n'
            f'payload = "{token.decode("ascii")}"\n')


def _tokens(data: Mapping[str, Any], where: str) -> tuple[bytes, bytes]:
    if data.get("format") != FORMAT:
        raise ConfigError(f"{where}: format must be {FORMAT!r} (was {data.get('format')!r})")
    wrapped, token = data.get("data_key"), data.get("payload")
    if not (isinstance(wrapped, str) and isinstance(token, str)):
        raise ConfigError(f"{where}: needs data_key and payload strings")
    return wrapped.encode("ascii"), token.encode("ascii")


def _data_key(wrapped: bytes, master: Fernet, where: str) -> Fernet:
    try:
        return Fernet(master.decrypt(wrapped))
    except InvalidToken:
        raise ConfigError(f"{where}: the secrets key does not open this file (wrong key, "
                          "or the file was changed)") from None


def decrypt_pair(data: Mapping[str, Any], master: Fernet, where: str) -> tuple[str, str]:
    """``(api_key, api_secret)`` from a parsed encrypted file; ``where`` names it in errors."""
    wrapped, token = _tokens(data, where)
    try:
        plain = _data_key(wrapped, master, where).decrypt(token)
    except InvalidToken:
        raise ConfigError(f"{where}: the payload does not decrypt (the file was changed)"
                          ) from None
    try:
        pair = json.loads(plain)
    except ValueError:
        raise ConfigError(f"{where}: the payload is not a key pair") from None
    key, secret = (pair.get("api_key"), pair.get("api_secret")) if isinstance(pair, dict) \
        else (None, None)
    if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
        raise ConfigError(f"{where}: the payload is not a key pair")
    return key, secret


def rotate(text: str, master: Fernet, where: str, new_master: Fernet | None = None) -> str:
    """``text`` (an encrypted file) re-encrypted under a fresh data key, wrapped under
    ``new_master`` when given (else under ``master`` again)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise ConfigError(f"{where}: not valid TOML") from None
    key, secret = decrypt_pair(data, master, where)
    return encrypt_pair(key, secret, new_master or master)


def write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 from the first byte (a reader sees
    the old file or the new one, never half of one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"{path}: cannot write ({exc.strerror})") from None
