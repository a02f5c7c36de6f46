"""``bitunix-bot pause``: stop new entries of the running bot (exits still go out)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``pause`` command."""
    from bitunix.cli._operator import add_store, add_timeout

    parser = subparsers.add_parser(
        "pause",
        help="stop new entries of the running bot until resume (exits still go out)",
        description=(
            "Ask the bot that holds the store's lease to send no new entry until "
            "`bitunix-bot resume`; exits, stops, take-profits and the trailing stop keep "
            "working. The pause lasts for the bot's run (a restart trades again; use "
            "`kill` for a stop that survives restarts). Waits for the bot's answer; exit 0 "
            "once it applied the pause, 1 when no bot runs on the store (nothing changed)."
        ),
    )
    parser.add_argument("--reason", default="operator", help="recorded in the audit trail")
    add_store(parser)
    add_timeout(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ask the bot to pause; return the exit code."""
    from bitunix.cli._operator import ask, finish, open_view

    return finish(ask(open_view(args), "pause", {"reason": args.reason}, args.timeout))
