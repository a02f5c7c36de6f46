"""Render docs/performance.md's generated tables from the benchmark JSON.

    python tools/perf_tables.py --bench results/bench.json            # after make bench
    python tools/perf_tables.py --peers results/peers.json            # after make bench-peers

``--bench``: the pytest-benchmark JSON of ``make bench`` (``--benchmark-json``), whose
``bitunix`` key ``bench/conftest.py`` fills with the per-operation medians and the in-run
ratios; rewritten between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``.
``--peers``: the JSON of ``bench/peers/run.py``; rewritten between ``<!-- peers:begin -->``
and ``<!-- peers:end -->``. Nothing else in the page is touched.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class MarkerError(ValueError):
    """The page lacks a region's markers, or has them out of order."""


def format_ns(ns: float) -> str:
    """``ns`` as ns, us or ms with three significant figures; NaN as n/a."""
    if math.isnan(ns):
        return "n/a"
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def render_bench(data: Mapping[str, Any]) -> str:
    """The benchmark tables: per-operation medians, then the in-run ratios."""
    summary = data.get("bitunix")
    if not isinstance(summary, Mapping):
        raise ValueError("the benchmark JSON has no 'bitunix' summary: was it written by "
                         "make bench (bench/conftest.py)?")
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", "unknown CPU")
    cores = machine.get("cpu", {}).get("count", "?")
    when = str(data.get("datetime", "?"))[:19].replace("T", " ")
    commit = str(data.get("commit_info", {}).get("id", ""))[:10]
    lines = [
        f"Generated from `results/bench.json` by `tools/perf_tables.py`: "
        f"{len(data.get('benchmarks', []))} benchmarks, run {when} UTC"
        + (f" at {commit}" if commit else "") + f", {cpu}, {cores} cores.",
        "",
        "| measurement | median per operation |",
        "|---|---|",
    ]
    for name, ns in summary.get("medians_ns", {}).items():
        lines.append(f"| `{name}` | {format_ns(float(ns))} |")
    ratios = summary.get("ratios", [])
    if ratios:
        lines += ["", "| in-run ratio (how many times faster) | ratio |", "|---|---|"]
        for r in ratios:
            lines.append(f"| {r['label']} | {_ratio(float(r['ratio']))} |")
    return "\n".join(lines)


def render_peers(data: Mapping[str, Any]) -> str:
    """The peer table: ours, theirs and theirs / ours per workload."""
    machine = data.get("machine", {})
    peer = str(data.get("peer", "peer"))
    lines = [
        f"Generated from `results/peers.json` by `tools/perf_tables.py`: run "
        f"{str(data.get('date', '?'))[:19].replace('T', ' ')} UTC, "
        f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores, "
        f"load average {float(machine.get('load_avg_1m', math.nan)):.2f} at the end; "
        f"{int(data.get('trades', 0)):,} trades in the backtests.",
        "",
        f"| workload | bitunix | {peer} | {peer.split(maxsplit=1)[0]} / bitunix |",
        "|---|---|---|---|",
    ]
    for r in data.get("rows", []):
        lines.append(f"| {r['row']} | {format_ns(float(r['ours']))} | "
                     f"{format_ns(float(r['theirs']))} | {_ratio(float(r['ratio']))} |")
    return "\n".join(lines)


def replace_region(text: str, name: str, body: str) -> str:
    """``text`` with what lies between ``<!-- name:begin -->`` and ``<!-- name:end -->``
    replaced by ``body``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise MarkerError(f"the page needs '{begin}' and then '{end}'")
    return text[: i + len(begin)] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the regions of the page whose JSON is given."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bench", type=Path, help="make bench's JSON (results/bench.json)")
    ap.add_argument("--peers", type=Path, help="make bench-peers' JSON (results/peers.json)")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs/performance.md")
    args = ap.parse_args(argv)
    if args.bench is None and args.peers is None:
        ap.error("give --bench and/or --peers")
    text = args.doc.read_text()
    try:
        if args.bench is not None:
            text = replace_region(text, "bench", render_bench(json.loads(args.bench.read_text())))
        if args.peers is not None:
            text = replace_region(text, "peers", render_peers(json.loads(args.peers.read_text())))
    except (OSError, ValueError) as exc:
        print(f"perf_tables: {exc}", file=sys.stderr)
        return 1
    args.doc.write_text(text)
    print(f"perf_tables: {args.doc} updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
