"""``bitunix-bot flatten``: close every position and cancel every order."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``flatten`` command."""
    from bitunix.cli._operator import add_store, add_timeout, add_venue

    parser = subparsers.add_parser(
        "flatten",
        help="close every position and cancel every order (pauses new entries)",
        description=(
            "Through the running bot: pause new entries, cancel every open order, close "
            "every position reduce-only at market and wait until flat; entries stay paused "
            "until `bitunix-bot resume`. With no bot running on the store this is the "
            "emergency tool: every open order is cancelled and every position of the "
            "account is closed at the venue directly over REST (the endpoints the bot "
            "recorded, or --rest-url / --config), audited in the store. Exit 0 when the "
            "venue holds no position afterwards."
        ),
    )
    add_store(parser)
    add_venue(parser)
    add_timeout(parser, default=30.0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Flatten through the bot (or at the venue when none runs); return the exit code."""
    from bitunix.cli._operator import ask, direct_flatten, finish, open_view

    view = open_view(args)
    if not view.running:
        return direct_flatten(args, view, args.timeout)
    return finish(ask(view, "flatten", {"reason": "operator flatten"}, args.timeout))
