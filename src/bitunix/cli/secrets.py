"""``bitunix-bot secrets``: the exchange key pair encrypted at rest.

``keygen --out KEYFILE`` writes a new master key (owner-only); ``encrypt --out FILE``
encrypts the pair read from ``BITUNIX_API_KEY`` / ``BITUNIX_API_SECRET`` or from stdin
(never from the command line, where ``ps`` and the shell history would keep it);
``rotate-key`` re-encrypts a file under a fresh data key (``--new-key-file``: and a new
master key); ``check`` opens a file and says whether the bot could. The master key comes
from ``BITUNIX_SECRETS_KEY`` or ``BITUNIX_SECRETS_KEY_FILE``. No command prints a secret.
See docs/secrets.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_KEY_HELP = "the master key comes from BITUNIX_SECRETS_KEY or BITUNIX_SECRETS_KEY_FILE"


def register(subparsers: Any) -> None:
    """Add the ``secrets`` command and its actions."""
    parser = subparsers.add_parser(
        "secrets", help="encrypt the exchange key pair at rest, rotate, check",
        description="The exchange key pair encrypted in an owner-only file (Fernet, a data "
                    f"key wrapped by a master key); {_KEY_HELP}. See docs/secrets.md.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    keygen = actions.add_parser("keygen", help="write a new master key to an owner-only file")
    keygen.add_argument("--out", required=True, help="the key file to create (mode 0600)")
    keygen.set_defaults(func=run_keygen)
    encrypt = actions.add_parser(
        "encrypt", help="encrypt the key pair from the environment or stdin into --out",
        description="Reads BITUNIX_API_KEY and BITUNIX_API_SECRET, or when they are not set "
                    "two lines from stdin (the key, then the secret); " + _KEY_HELP + ".")
    encrypt.add_argument("--out", required=True, help="the encrypted file to write (0600)")
    encrypt.set_defaults(func=run_encrypt)
    rotate = actions.add_parser("rotate-key",
                                help="re-encrypt a file under a fresh data key, in place")
    rotate.add_argument("--file", help="the encrypted file (default: BITUNIX_SECRETS_FILE)")
    rotate.add_argument("--new-key-file",
                        help="wrap the new data key under the master key in this owner-only "
                             "file (master key rotation)")
    rotate.set_defaults(func=run_rotate)
    check = actions.add_parser("check", help="open a secrets file as the bot would")
    check.add_argument("--file", help="the secrets file (default: BITUNIX_SECRETS_FILE)")
    check.set_defaults(func=run_check)


def _file(given: str | None, environ: dict[str, str]) -> Path:
    from bitunix.core.errors import ConfigError

    text = given or environ.get("BITUNIX_SECRETS_FILE", "")
    if not text:
        raise ConfigError("--file: name the secrets file (or set BITUNIX_SECRETS_FILE)")
    return Path(text).expanduser()


def _refuse_existing(path: Path, flag: str) -> None:
    from bitunix.core.errors import ConfigError

    if path.exists():
        raise ConfigError(f"{flag} {path}: exists already (not overwritten)")


def run_keygen(args: argparse.Namespace) -> int:
    """Write a new master key."""
    from bitunix.config.secrets import new_master_key, write_owner_only

    out = Path(args.out).expanduser()
    _refuse_existing(out, "--out")
    write_owner_only(out, new_master_key() + "\n")
    print(f"wrote a new master key to {out} (mode 0600); point BITUNIX_SECRETS_KEY_FILE "
          "at it and keep a copy apart from the encrypted file")
    return 0


def _read_pair(environ: dict[str, str]) -> tuple[str, str]:
    from bitunix.core.errors import ConfigError

    key = environ.get("BITUNIX_API_KEY", "")
    secret = environ.get("BITUNIX_API_SECRET", "")
    if key or secret:
        if not (key and secret):
            missing = "BITUNIX_API_SECRET" if key else "BITUNIX_API_KEY"
            raise ConfigError(f"environment: {missing} is not set (both are needed)")
        return key, secret
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("API key: ").strip(), getpass.getpass("API secret: ").strip()
    lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    if len(lines) != 2:
        raise ConfigError(f"stdin: expected 2 lines (the api key, then the api secret), "
                          f"got {len(lines)}")
    return lines[0], lines[1]


def run_encrypt(args: argparse.Namespace) -> int:
    """Encrypt the key pair into ``--out``."""
    from bitunix.config import environment
    from bitunix.config.secrets import encrypt_pair, master_key, write_owner_only

    environ = environment()
    out = Path(args.out).expanduser()
    _refuse_existing(out, "--out")
    master = master_key(environ)
    key, secret = _read_pair(environ)
    write_owner_only(out, encrypt_pair(key, secret, master))
    print(f"wrote {out} (mode 0600): the key pair encrypted; run the bot with "
          f"venue.secrets_file = \"{out}\" and the master key in its environment")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt a file under a fresh data key (and optionally a new master key)."""
    from bitunix.config import environment
    from bitunix.config.secrets import (
        check_owner_only,
        master_key,
        read_key_file,
        rotate,
        write_owner_only,
    )

    environ = environment()
    path = _file(args.file, environ)
    check_owner_only(path, "secrets file")
    new_master = read_key_file(Path(args.new_key_file).expanduser()) \
        if args.new_key_file else None
    text = rotate(path.read_text(encoding="utf-8"), master_key(environ),
                  f"secrets file {path}", new_master)
    write_owner_only(path, text)
    under = f"the master key in {args.new_key_file}" if new_master else "the same master key"
    print(f"rotated {path}: a new data key, wrapped under {under}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Open the secrets file as ``bitunix-bot run`` does; 0 when it yields a key pair."""
    import tomllib

    from bitunix.config import environment, load_secrets
    from bitunix.config.secrets import is_encrypted

    environ = environment()
    path = _file(args.file, environ)
    # Only the file is checked: the environment's pair would win in load_secrets.
    file_env = {k: v for k, v in environ.items()
                if k not in {"BITUNIX_API_KEY", "BITUNIX_API_SECRET", "BITUNIX_SECRET_KEY"}}
    load_secrets(file_env, str(path))
    form = "encrypted" if is_encrypted(tomllib.loads(path.read_text(encoding="utf-8"))) \
        else "plain TOML (not encrypted: bitunix-bot secrets encrypt)"
    print(f"ok: {path} is owner-only and holds an API key pair ({form})")
    return 0
