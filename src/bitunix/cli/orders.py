"""``bitunix-bot orders``: open orders at the venue and in the bot's store."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``orders`` command."""
    from bitunix.cli._args import positive_int
    from bitunix.cli._operator import add_json, add_store, add_venue

    parser = subparsers.add_parser(
        "orders",
        help="open orders: the venue's (over REST) and the bot's (its store)",
        description=(
            "List the open orders the venue holds (over REST: the truth) and the ones the "
            "bot's store holds open (what the bot believes); --all lists the store's most "
            "recent orders whatever their state. Exit 0 when the venue could be read, 1 "
            "when not."
        ),
    )
    add_store(parser)
    add_venue(parser)
    add_json(parser)
    parser.add_argument("--all", action="store_true",
                        help="the store's recent orders in every state, not only open ones")
    parser.add_argument("--limit", type=positive_int, default=50,
                        help="with --all: how many of the latest orders (default 50)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the orders; return the exit code."""
    from bitunix.cli._operator import emit_json, open_view, read_venue, report_venue_error
    from bitunix.store import SqliteStore

    view = open_view(args)

    async def read(rest: Any) -> Any:
        return await rest.all_pending_orders()

    venue, rows = read_venue(args, view, read)
    venue["orders"] = [{
        "order_id": o.order_id, "client_id": o.client_id or "", "symbol": o.symbol,
        "side": o.side, "type": o.kind or "", "qty": str(o.qty),
        "price": "" if o.limit_price is None else str(o.limit_price),
        "filled_qty": "" if o.trade_qty is None else str(o.trade_qty),
        "status": o.status or "", "reduce_only": bool(o.reduce_only)}
        for o in sorted(rows or [], key=lambda o: (o.symbol, o.order_id))]
    with SqliteStore(view.path) as store:
        held = store.orders(latest=args.limit) if args.all else store.orders(open_only=True)
    bot = [{"client_id": o.client_id, "venue_id": o.venue_id or "", "symbol": o.symbol,
            "side": o.side.value, "type": o.order_type.value, "qty": str(o.qty),
            "price": "" if o.price is None else str(o.price),
            "filled_qty": o.spec.format_qty(o.filled_steps), "status": o.status.value,
            "reduce_only": o.reduce_only, "strategy": o.strategy, "reason": o.reason,
            "updated_ns": max(o.updated_ns, o.created_ns)} for o in held]
    if args.json:
        emit_json({"store": str(view.path), "running": view.running, "venue": venue,
                   "bot": {"orders": bot, "all": args.all}})
    else:
        if not venue["error"]:
            print(f"venue {venue['rest_url']}: {len(venue['orders'])} open orders")
            for v in venue["orders"]:
                print(f"  {v['client_id'] or v['order_id']} {v['symbol']} {v['side']} "
                      f"{v['qty']} {v['type']} {v['price']} {v['status']}")
        what = "recent" if args.all else "open"
        print(f"bot ({'running' if view.running else 'stopped'}): {len(bot)} {what} orders")
        for b in bot:
            print(f"  {b['client_id']} {b['symbol']} {b['side']} {b['qty']} {b['type']} "
                  f"{b['price']} {b['status']} filled {b['filled_qty']}")
    return report_venue_error(venue)
