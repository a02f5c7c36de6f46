"""``bitunix-bot resume``: let the running bot send new entries again after ``pause``."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``resume`` command."""
    from bitunix.cli._operator import add_store, add_timeout

    parser = subparsers.add_parser(
        "resume",
        help="allow new entries again after pause (or a flatten)",
        description=(
            "Ask the bot that holds the store's lease to send new entries again after "
            "`pause` or `flatten` (an engaged kill switch still stops them: release it with "
            "`bitunix-bot kill --release`). Exit 0 once the bot resumed, 1 when no bot runs "
            "on the store (nothing changed)."
        ),
    )
    add_store(parser)
    add_timeout(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ask the bot to resume; return the exit code."""
    from bitunix.cli._operator import ask, finish, open_view

    return finish(ask(open_view(args), "resume", {}, args.timeout))
