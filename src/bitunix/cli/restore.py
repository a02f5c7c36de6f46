"""``bitunix-bot restore SRC``: put a backup in place of the state store."""

from __future__ import annotations

import argparse
from typing import Any

from bitunix.cli.backup import DEFAULT_STORES, default_store


def register(subparsers: Any) -> None:
    """Add the ``restore`` command."""
    parser = subparsers.add_parser(
        "restore",
        help="replace the state store with the backup SRC (the bot must be stopped)",
        description=(
            "Replace the bot's state store with the backup SRC. Refused while a bot holds "
            "the store's lease (stop it first); the replaced store is kept beside it as "
            "<store>.before-restore-<time>. The next run reconciles with the venue before "
            "its first order, as after any restart."
        ),
    )
    parser.add_argument("src", help="the backup file")
    parser.add_argument("--store", help="the store to replace (default: "
                        f"{' or '.join(DEFAULT_STORES)}, whichever is here)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Restore; return the exit code."""
    import time
    from pathlib import Path

    from bitunix.store import restore_store

    store = default_store(args.store)
    kept = restore_store(Path(args.src), Path(store), now_ns=time.time_ns)
    print(f"restored {store} from {args.src}"
          + (f"; the replaced store is kept as {kept}" if kept else ""))
    return 0
