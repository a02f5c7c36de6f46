"""``make bench-peers``: our workloads and nautilus_trader's, in the same invocation, one
after the other on the same machine and data; prints ours / theirs / ratio per row and
writes the JSON that ``tools/perf_tables.py`` renders into docs/performance.md "Peers".

    .venv/bin/python bench/peers/run.py --out results/peers.json   # what make bench-peers runs

Each side runs in its own fresh process (theirs in .venv-peers: nautilus_trader is never a
dependency of the package). The ratio is theirs / ours: above 1 we are faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "src/bitunix/data/binance-usdm-ethusdt-2024-08-08.txt.gz"

#: (key, row label, how to read the figure from a side's JSON)
ROWS: list[tuple[str, str, tuple[str, ...]]] = [
    ("vwap", "rolling VWAP update + read, per trade", ("vwap_ns",)),
    ("decode", "trade frame bytes -> domain object, per frame", ("decode_ns",)),
    ("backtest_vwap", "backtest of 1M trades, VWAP strategy, per trade",
     ("backtest_vwap", "ns_per_trade")),
    ("backtest_orders", "backtest of 1M trades, market order every 100 trades, per trade",
     ("backtest_orders", "ns_per_trade")),
    ("tick_to_order_p50", "in-strategy tick -> order submitted, p50",
     ("tick_to_order", "p50_ns")),
    ("tick_to_order_p99", "in-strategy tick -> order submitted, p99",
     ("tick_to_order", "p99_ns")),
]


def _side(python: str, script: str, trades: int, part: str) -> dict[str, Any]:
    cmd = [python, str(HERE / script), "--data", str(DATA), "--trades", str(trades),
           "--part", part]
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                          timeout=3600)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{script} failed with exit status {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_sides(peer_python: str, trades: int, micro_rounds: int
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides: the per-call rows ``micro_rounds`` times, alternating ours and theirs
    (the best of each kept: on a shared machine load comes and goes), then the backtests
    once each."""
    sides = (("our_side.py", sys.executable), ("nautilus_side.py", peer_python))
    best: list[dict[str, Any]] = [{}, {}]
    for _ in range(micro_rounds):
        for i, (script, python) in enumerate(sides):
            got = _side(python, script, trades, "micro")
            for key in ("vwap_ns", "decode_ns"):
                best[i][key] = min(best[i].get(key, got[key]), got[key])
                best[i].setdefault(f"{key}_rounds", []).append(got[key])
    results = []
    for i, (script, python) in enumerate(sides):
        results.append({**_side(python, script, trades, "backtest"), **best[i]})
    return results[0], results[1]


def _get(side: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = side
    for key in path:
        value = value[key]
    return float(value)


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per workload: ours, theirs (ns) and theirs / ours."""
    rows = []
    for key, label, path in ROWS:
        a, b = _get(ours, path), _get(theirs, path)
        rows.append({"key": key, "row": label, "unit": "ns", "ours": a, "theirs": b,
                     "ratio": b / a if a > 0 else float("nan")})
    return rows


def format_ns(ns: float) -> str:
    """``ns`` in ns, us or ms, three significant figures."""
    if math.isnan(ns):
        return "n/a"
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main(argv: list[str] | None = None) -> int:
    """Run both sides, print the table, write the JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--peer-python", default=str(ROOT / ".venv-peers/bin/python"))
    ap.add_argument("--out", type=Path, default=ROOT / "results/peers.json")
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--micro-rounds", type=int, default=5,
                    help="alternating runs of the per-call rows (the best kept)")
    args = ap.parse_args(argv)

    ours, theirs = run_sides(args.peer_python, args.trades, args.micro_rounds)
    rows = compare(ours, theirs)
    summary = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "system": platform.platform(),
                    "load_avg_1m": os.getloadavg()[0]},
        "trades": args.trades, "micro_rounds": args.micro_rounds,
        "peer": f"nautilus_trader {theirs.get('version', '?')}",
        "rows": rows, "ours": ours, "theirs": theirs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{'row':<66} {'ours':>10} {'theirs':>10} {'theirs/ours':>12}")
    for r in rows:
        print(f"{r['row']:<66} {format_ns(r['ours']):>10} {format_ns(r['theirs']):>10} "
              f"{r['ratio']:>11.2f}x")
    print(f"\n{summary['peer']}; load average {summary['machine']['load_avg_1m']:.2f} at the "
          f"end; written to {args.out}")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
