"""``bitunix-bot cancel-all [SYMBOL]``: cancel every open order (of a symbol)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``cancel-all`` command."""
    from bitunix.cli._operator import add_store, add_timeout, add_venue

    parser = subparsers.add_parser(
        "cancel-all",
        help="cancel every open order (of SYMBOL) through the running bot",
        description=(
            "Cancel every open order (of SYMBOL), exchange protection orders included: "
            "through the running bot's engine, which waits until the venue reports them "
            "closed. Positions stay open (and unprotected until the bot places new "
            "protection; `flatten` closes them). With no bot running on the store, the "
            "orders are cancelled at the venue directly over REST (the endpoints the bot "
            "recorded, or --rest-url), and audited in the store. Exit 0 when none is left "
            "open."
        ),
    )
    parser.add_argument("symbol", metavar="SYMBOL", nargs="?", help="only this symbol")
    add_store(parser)
    add_venue(parser)
    add_timeout(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Cancel through the bot (or at the venue when none runs); return the exit code."""
    from bitunix.cli._operator import ask, direct_cancel_all, finish, open_view

    view = open_view(args)
    symbol = args.symbol.upper() if args.symbol else ""
    if not view.running:
        return direct_cancel_all(args, view, symbol or None)
    return finish(ask(view, "cancel_all", {"symbol": symbol}, args.timeout))
