"""``bitunix-bot positions``: open positions at the venue and in the bot's store."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``positions`` command."""
    from bitunix.cli._operator import add_json, add_store, add_venue

    parser = subparsers.add_parser(
        "positions",
        help="open positions: the venue's (over REST) and the bot's (its store)",
        description=(
            "List the open positions the venue holds (over REST: the truth) and the ones "
            "the bot's store holds (what the bot believes). Quantities are signed (short "
            "< 0), exact decimals. Exit 0 when the venue could be read, 1 when not."
        ),
    )
    add_store(parser)
    add_venue(parser)
    add_json(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the positions; return the exit code."""
    from bitunix.cli._operator import emit_json, open_view, read_venue, report_venue_error
    from bitunix.store import SqliteStore

    view = open_view(args)

    async def read(rest: Any) -> Any:
        return await rest.pending_positions()

    venue, rows = read_venue(args, view, read)
    venue["positions"] = []
    for p in sorted(rows or [], key=lambda p: p.symbol):
        short = p.side.upper() in ("SELL", "SHORT")
        venue["positions"].append({
            "symbol": p.symbol, "qty": str(-p.qty if short else p.qty),
            "side": "SHORT" if short else "LONG", "position_id": p.position_id,
            "avg_open_price": "" if p.avg_open_price is None else str(p.avg_open_price),
            "unrealized_pnl": "" if p.unrealized_pnl is None else str(p.unrealized_pnl)})
    with SqliteStore(view.path) as store:
        held = [p for p in store.positions() if not p.is_flat]
    bot = [{"symbol": p.symbol, "qty": str(p.qty),
            "side": "LONG" if p.qty_steps > 0 else "SHORT",
            "avg_entry_price": "" if p.avg_entry_price is None else str(p.avg_entry_price),
            "realized_pnl": str(p.realized_pnl), "fees": str(p.fees)} for p in held]
    if args.json:
        emit_json({"store": str(view.path), "running": view.running, "venue": venue,
                   "bot": {"positions": bot}})
    else:
        if not venue["error"]:
            print(f"venue {venue['rest_url']}: {len(venue['positions'])} open positions")
            for v in venue["positions"]:
                print(f"  {v['symbol']} {v['qty']} at {v['avg_open_price'] or '?'} "
                      f"(unrealised {v['unrealized_pnl'] or '?'})")
        print(f"bot ({'running' if view.running else 'stopped'}): {len(bot)} open positions")
        for b in bot:
            print(f"  {b['symbol']} {b['qty']} at {b['avg_entry_price'] or '?'}")
    return report_venue_error(venue)
