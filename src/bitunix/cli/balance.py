"""``bitunix-bot balance``: the account at the venue, beside what the bot believes."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``balance`` command."""
    from bitunix.cli._operator import add_json, add_store, add_venue

    parser = subparsers.add_parser(
        "balance",
        help="the USDT account at the venue (and the bot's equity and day PnL)",
        description=(
            "Read the USDT futures account from the venue over REST (available, frozen, "
            "margin, unrealised PnL), with the equity and the day's PnL the bot last "
            "recorded in the store. Exit 0 when the venue could be read, 1 when not."
        ),
    )
    add_store(parser)
    add_venue(parser)
    add_json(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the balance; return the exit code."""
    from bitunix.cli._operator import emit_json, open_view, read_venue, report_venue_error

    view = open_view(args)

    async def read(rest: Any) -> Any:
        return await rest.account("USDT")

    venue, account = read_venue(args, view, read)
    if account is not None:
        venue.update(margin_coin=account.margin_coin, available=str(account.available),
                     frozen=str(account.frozen), margin=str(account.margin),
                     unrealized_pnl=str(account.cross_unrealized_pnl
                                        + account.isolation_unrealized_pnl))
    status = view.status
    bot = {"equity": status.equity if status else "",
           "day_pnl": status.day_pnl if status else ""}
    doc = {"store": str(view.path), "running": view.running, "venue": venue, "bot": bot}
    if args.json:
        emit_json(doc)
    else:
        if not venue["error"]:
            print(f"venue {venue['rest_url']}: {venue['margin_coin']} available "
                  f"{venue['available']}, frozen {venue['frozen']}, margin {venue['margin']}, "
                  f"unrealised PnL {venue['unrealized_pnl']}")
        print(f"bot ({'running' if view.running else 'stopped'}): equity "
              f"{bot['equity'] or 'n/a'}, day PnL {bot['day_pnl'] or 'n/a'}")
    return report_venue_error(venue)
