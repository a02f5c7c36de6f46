"""``bitunix-bot kill``: the manual kill switch of a running (or the next) bot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``kill`` command."""
    from bitunix.cli._operator import add_store, add_timeout

    parser = subparsers.add_parser(
        "kill",
        help="stop new entries now (the manual kill switch); --release lifts it",
        description=(
            "Engage the risk kill switch of the bot that uses the store: no new entry is "
            "sent until it is released (exits and protection orders still go out); it "
            "survives restarts. A running bot applies it before this command returns (no "
            "entry is sent after that). A stopped bot takes it up at its next start. "
            "--flatten also closes every position and cancels every order (a running bot "
            "does it and reports; a stopped one at its next start, or use `flatten` now)."
        ),
    )
    parser.add_argument("--release", action="store_true", help="lift the kill switch")
    parser.add_argument("--flatten", action="store_true",
                        help="also close every position and cancel every order")
    parser.add_argument("--reason", default="operator", help="recorded in the audit trail")
    add_store(parser)
    add_timeout(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Apply through the running bot, or record for the next start; return the exit code."""
    from bitunix.cli._operator import NotTakenError, ask, finish, open_view
    from bitunix.core.errors import ConfigError

    if args.release and args.flatten:
        raise ConfigError("--release and --flatten: choose one")
    view = open_view(args)
    what = "release" if args.release else "kill switch" + (" with a flatten" if args.flatten
                                                          else "")
    if view.running:
        action = "release" if args.release else "kill"
        try:
            return finish(ask(view, action, {"reason": args.reason,
                                             "flatten": "true" if args.flatten else "false"},
                              args.timeout))
        except NotTakenError as exc:
            # The switch must land even when the bot is too busy to answer: the bot also
            # reads the stored request every second, and a restarted one at its start.
            _record(view.path, args)
            print(f"{exc}; the {what} is recorded in the store instead: a live bot applies "
                  "it within a second, a restarted one at its start", file=sys.stderr)
            return 1
    _record(view.path, args)
    print(f"{view.stopped_line()}: {what} recorded; the next start applies it")
    return 0


def _record(path: Path, args: argparse.Namespace) -> None:
    """Keep the request in the store (``BotRun._apply_kill_request`` takes it up)."""
    import time

    from bitunix.risk.kill import KillRequest, encode_kill_request
    from bitunix.store import SqliteStore

    request = KillRequest(engage=not args.release, flatten=args.flatten,
                          reason=args.reason, ts_ns=time.time_ns())
    with SqliteStore(path) as store:
        store.set_state("kill_request", encode_kill_request(request))
