"""``bitunix-bot backup DEST``: copy the state store, online (the bot may be running)."""

from __future__ import annotations

import argparse
from typing import Any

#: The stores a run writes when none is configured: a live/dry-run one, a paper one.
DEFAULT_STORES = ("bitunix-state.sqlite", "bitunix-paper.sqlite")


def default_store(given: str | None) -> str:
    """``given``, else the one default store found in the working directory."""
    from pathlib import Path

    from bitunix.core.errors import ConfigError

    if given is not None:
        return given
    found = [name for name in DEFAULT_STORES if Path(name).is_file()]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(f"--store: neither {' nor '.join(DEFAULT_STORES)} is here; "
                          "name the store with --store PATH")
    raise ConfigError(f"--store: both {' and '.join(DEFAULT_STORES)} are here; "
                      "name the one to use with --store PATH")


def register(subparsers: Any) -> None:
    """Add the ``backup`` command."""
    parser = subparsers.add_parser(
        "backup",
        help="copy the state store to DEST (safe while the bot runs)",
        description=(
            "Copy the bot's SQLite state store (orders, fills, positions, PnL, decisions, the "
            "audit trail) to a new file DEST with SQLite's online backup: the running bot "
            "keeps writing meanwhile. DEST must not exist."
        ),
    )
    parser.add_argument("dest", help="the new backup file")
    parser.add_argument("--store", help="the store to copy (default: "
                        f"{' or '.join(DEFAULT_STORES)}, whichever is here)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Back the store up; return the exit code."""
    from pathlib import Path

    from bitunix.store import backup_store

    store = default_store(args.store)
    version = backup_store(Path(store), Path(args.dest))
    print(f"backed up {store} to {args.dest} (schema version {version})")
    return 0
