"""``bitunix-bot backup DEST``: copy the state store, online (the bot may be running)."""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_STORE = "bitunix-state.sqlite"


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
    parser.add_argument("--store", default=DEFAULT_STORE,
                        help=f"the store to copy (default {DEFAULT_STORE})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Back the store up; return the exit code."""
    from pathlib import Path

    from bitunix.store import backup_store

    version = backup_store(Path(args.store), Path(args.dest))
    print(f"backed up {args.store} to {args.dest} (schema version {version})")
    return 0
