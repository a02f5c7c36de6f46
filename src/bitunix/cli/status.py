"""``bitunix-bot status``: is a bot running on the store, and how is it doing."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``status`` command."""
    from bitunix.cli._operator import add_json, add_store, add_venue

    parser = subparsers.add_parser(
        "status",
        help="the bot on a store: running or not, mode, venue, switches, breakers, PnL",
        description=(
            "Show whether a bot holds the store's lease (and who: owner, pid), its mode, "
            "venue and symbols, paused and kill-switch state, tripped breakers, the day's "
            "PnL, its positions and open orders and its last heartbeat; and how many "
            "positions and open orders the venue itself shows. Works on a stopped bot too "
            "(it says so). Exit 0 when the store could be read."
        ),
    )
    add_store(parser)
    add_venue(parser)
    add_json(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the status; return the exit code."""
    import time

    import msgspec

    from bitunix.cli._operator import emit_json, open_view, read_venue
    from bitunix.store import SqliteStore

    view = open_view(args)
    info, status = view.info, view.status

    async def read(rest: Any) -> tuple[int, int]:
        positions = await rest.pending_positions()
        orders = await rest.all_pending_orders()
        return len(positions), len(orders)

    venue, counts = read_venue(args, view, read)
    venue["positions"], venue["open_orders"] = counts or (None, None)
    # Counts from the store's tables (written within the store's flush interval), not
    # from the once-a-second heartbeat.
    with SqliteStore(view.path) as store:
        positions = sum(1 for p in store.positions() if not p.is_flat)
        open_orders = len(store.orders(open_only=True))
    now = time.time_ns()
    doc: dict[str, Any] = {
        "store": str(view.path),
        "running": view.running,
        "lease": None if view.holder is None else msgspec.to_builtins(view.holder),
        "bot": None if info is None else msgspec.to_builtins(info),
        "paused": bool(status and view.running and status.paused),
        "paused_reason": status.paused_reason if status and view.running else "",
        "kill_switch": view.kill_switch,
        "kill_reason": view.kill_reason,
        "breakers": list(status.breakers) if status else [],
        "day_pnl": status.day_pnl if status else "",
        "equity": status.equity if status else "",
        "positions": positions,
        "open_orders": open_orders,
        "last_heartbeat_ns": status.heartbeat_ns if status else 0,
        "heartbeat_age_s": round((now - status.heartbeat_ns) / 1e9, 3) if status else None,
        "venue": venue,
    }
    if args.json:
        emit_json(doc)
        return 0
    if view.running:
        assert view.holder is not None
        state = "running"
        who = view.holder.owner + (f" (pid {info.pid})" if info else "")
        print(f"bot: {state}, lease held by {who}")
    else:
        print(f"bot: stopped; {view.stopped_line()}")
    if info is not None:
        print(f"mode {info.mode}, venue {info.venue} {info.rest_url}, symbols "
              f"{','.join(info.symbols)}")
    switches = [("paused" + (f" ({doc['paused_reason']})" if doc["paused_reason"] else ""))
                if doc["paused"] else "not paused",
                f"kill switch engaged ({view.kill_reason})" if view.kill_switch
                else "kill switch off",
                "breakers: " + (", ".join(doc["breakers"]) or "none")]
    print("; ".join(switches))
    if status is not None:
        print(f"day PnL {status.day_pnl or 'n/a'}, equity {status.equity or 'n/a'}; "
              f"{positions} positions, {open_orders} open orders (the bot's view); last "
              f"heartbeat {doc['heartbeat_age_s']:.1f} s ago")
    if venue["error"]:
        print(f"venue: {venue['error']}")
    else:
        print(f"venue {venue['rest_url']}: {venue['positions']} positions, "
              f"{venue['open_orders']} open orders")
    return 0
