"""``bitunix-bot kill``: the manual kill switch of a running (or the next) bot."""

from __future__ import annotations

import argparse
from typing import Any

from bitunix.cli.backup import DEFAULT_STORES


def register(subparsers: Any) -> None:
    """Add the ``kill`` command."""
    parser = subparsers.add_parser(
        "kill",
        help="stop new entries now (the manual kill switch); --release lifts it",
        description=(
            "Engage the risk kill switch of the bot that uses the store: no new entry is "
            "sent until it is released (exits and protection orders still go out). The bot "
            "reads the request within a second; a stopped bot takes it up at its next start. "
            "--flatten also closes every position and cancels every order."
        ),
    )
    parser.add_argument("--release", action="store_true", help="lift the kill switch")
    parser.add_argument("--flatten", action="store_true",
                        help="also close every position and cancel every order")
    parser.add_argument("--reason", default="operator", help="recorded in the audit trail")
    parser.add_argument("--store", help="the bot's store (default: "
                        f"{' or '.join(DEFAULT_STORES)}, whichever is here)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the request into the store; return the exit code."""
    import time
    from pathlib import Path

    from bitunix.cli.backup import default_store
    from bitunix.core.errors import ConfigError
    from bitunix.risk.kill import KillRequest, encode_kill_request
    from bitunix.store import SqliteStore, check_store

    if args.release and args.flatten:
        raise ConfigError("--release and --flatten: choose one")
    path = Path(default_store(args.store))
    check_store(path)
    request = KillRequest(engage=not args.release, flatten=args.flatten,
                          reason=args.reason, ts_ns=time.time_ns())
    with SqliteStore(path) as store:
        store.set_state("kill_request", encode_kill_request(request))
    what = "released" if args.release else "engaged" + (" with a flatten" if args.flatten else "")
    print(f"kill switch {what} in {path}: the bot applies it within a second")
    return 0
