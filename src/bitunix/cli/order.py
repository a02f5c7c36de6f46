"""``bitunix-bot order place|cancel``: a manual order through the running bot."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``order`` command and its ``place`` and ``cancel`` subcommands."""
    from bitunix.cli._operator import add_json, add_store, add_timeout

    parser = subparsers.add_parser(
        "order",
        help="place or cancel a manual order through the running bot",
        description=(
            "Manual orders go through the running bot: its risk checks, its execution "
            "engine (client ids, order state machine, reconciliation) and its store; every "
            "one is audited as the operator's. Exit 0 when the bot carried it out, 1 when it "
            "refused (the message says why; nothing was sent) or no bot runs on the store."
        ),
    )
    sub = parser.add_subparsers(dest="order_command", metavar="ACTION", required=True)
    place = sub.add_parser(
        "place", help="place an order (MARKET, or LIMIT GTC with --price)",
        description=(
            "Place SIDE QTY of SYMBOL: a MARKET order, or a LIMIT GTC order at --price. "
            "QTY and the price must be on the contract's grid. The same risk checks as the "
            "bot's own entries apply (kill switch, breakers, daily loss, open orders, "
            "quantity bounds, exposure and leverage at the price or the mark); a "
            "--reduce-only order is never refused by risk; --force skips the checks "
            "(audited as forced)."
        ))
    place.add_argument("symbol", metavar="SYMBOL", help="a symbol the bot trades, e.g. BTCUSDT")
    place.add_argument("side", metavar="SIDE", type=_side, help="BUY or SELL")
    place.add_argument("qty", metavar="QTY", type=_qty, help="quantity in the base coin")
    place.add_argument("--price", type=_price, help="limit price (default: a MARKET order)")
    place.add_argument("--reduce-only", action="store_true",
                       help="only reduce a position (never refused by risk)")
    place.add_argument("--force", action="store_true", help="skip the risk checks")
    place.add_argument("--reason", default="", help="recorded in the audit trail")
    add_store(place)
    add_timeout(place)
    add_json(place)
    place.set_defaults(func=run_place)
    cancel = sub.add_parser("cancel", help="cancel an open order by its client id",
                            description="Cancel the open order CLIENT_ID (see "
                                        "`bitunix-bot orders`) and wait until it is closed.")
    cancel.add_argument("client_id", metavar="CLIENT_ID", help="the bot's client id")
    add_store(cancel)
    add_timeout(cancel)
    add_json(cancel)
    cancel.set_defaults(func=run_cancel)


def _side(text: str) -> str:
    value = text.upper()
    if value not in ("BUY", "SELL"):
        raise argparse.ArgumentTypeError(f"{text!r} is not BUY or SELL")
    return value


def _positive_decimal(text: str) -> str:
    from bitunix.cli._args import amount

    value = amount(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return str(value)


_qty = _price = _positive_decimal


def run_place(args: argparse.Namespace) -> int:
    """Ask the bot to place the order; return the exit code."""
    from bitunix.cli._operator import ask, finish, open_view

    request = {"symbol": args.symbol.upper(), "side": args.side, "qty": args.qty,
               "reduce_only": "true" if args.reduce_only else "false",
               "force": "true" if args.force else "false"}
    if args.price is not None:
        request["price"] = args.price
    if args.reason:
        request["reason"] = args.reason
    return finish(ask(open_view(args), "order_place", request, args.timeout), args.json)


def run_cancel(args: argparse.Namespace) -> int:
    """Ask the bot to cancel the order; return the exit code."""
    from bitunix.cli._operator import ask, finish, open_view

    return finish(ask(open_view(args), "order_cancel", {"client_id": args.client_id},
                      args.timeout), args.json)
