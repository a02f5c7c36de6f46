"""``bitunix-bot config check FILE``: load and validate a configuration as ``run`` does."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``config`` command and its ``check`` subcommand."""
    parser = subparsers.add_parser(
        "config", help="check a configuration file",
        description="Work with configuration files (see docs/config.md).")
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check", help="load and validate FILE as `run` would, and say what it would do",
        description=(
            "Load FILE with the environment's overrides and secrets exactly as `bitunix-bot "
            "run --config FILE` does. A bad key or value: one line naming it, exit 1. "
            "Valid: a short summary (the mode it would run in and why, the venue, the "
            "symbols, the store), exit 0. Nothing is started or written."
        ))
    check.add_argument("file", metavar="FILE", help="the TOML configuration")
    check.add_argument("--dry-run", action="store_true",
                       help="check as `run --dry-run` would (the mode then)")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Validate the file; return the exit code."""
    from pathlib import Path

    from bitunix.cli.run import prepare_integrations
    from bitunix.config import environment, load_config, load_secrets, resolve_mode
    from bitunix.core.errors import ConfigError

    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"config {path}: does not exist")
    environ = environment()
    config = load_config(path, environ)
    mode, why = resolve_mode(config, environ, force_dry_run=args.dry_run)
    secrets = load_secrets(environ, config.venue.secrets_file)
    prepare_integrations(config, environ)  # notifications, webhooks, paging: their secrets
    store = config.store.resolved_path(mode.value)
    if not store.parent.is_dir():
        raise ConfigError(f"key store.path: directory {store.parent} does not exist")
    venue: str = config.venue.kind
    if venue != "sim":
        venue += f" {config.venue.rest_url}"
    keys = "keys set" if secrets is not None else "no keys"
    print(f"config {path}: OK")
    print(f"mode {mode.value} ({why}); venue {venue} ({keys}); symbols "
          f"{','.join(config.symbols)}; store {store}")
    return 0
