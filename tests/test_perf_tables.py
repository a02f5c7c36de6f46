"""tools/perf_tables.py: the generated tables of docs/performance.md from small JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tools.perf_tables import (
    MarkerError,
    format_ns,
    main,
    render_bench,
    render_peers,
    replace_region,
)

BENCH = {
    "datetime": "2026-12-02T15:57:26.521761+00:00",
    "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}},
    "commit_info": {"id": "0123456789abcdef"},
    "benchmarks": [{"name": "test_tick_native"}, {"name": "test_tick_python_deque"}],
    "bitunix": {
        "medians_ns": {"tick/native": 73.4, "tick/python_deque": 524.0},
        "ratios": [{"label": "native vs pure-Python deque (per tick)", "slow":
                    "tick/python_deque", "fast": "tick/native", "ratio": 524.0 / 73.4}],
    },
}

PEERS = {
    "date": "2026-12-02T16:30:00+00:00",
    "machine": {"cpu": "Test CPU", "cores": 2, "load_avg_1m": 1.5},
    "trades": 1_000_000,
    "peer": "nautilus_trader 1.221.0",
    "rows": [
        {"key": "vwap", "row": "rolling VWAP", "unit": "ns", "ours": 80.0, "theirs": 120.0,
         "ratio": 1.5},
        {"key": "tick_to_order_p99", "row": "tick -> order p99", "unit": "ns",
         "ours": 4_250_000.0, "theirs": 593_000.0, "ratio": 593_000.0 / 4_250_000.0},
    ],
}

PAGE = """# Performance

## Benchmarks

intro kept
<!-- bench:begin -->
old bench table
<!-- bench:end -->
after bench kept

## Peers

<!-- peers:begin -->
<!-- peers:end -->

## Soak

someone else's section
"""


def test_format_ns_picks_the_unit() -> None:
    assert format_ns(73.44) == "73.4 ns"
    assert format_ns(1_120.0) == "1.12 us"
    assert format_ns(4_250_000.0) == "4.25 ms"
    assert format_ns(math.nan) == "n/a"


def test_bench_table_has_every_median_and_ratio() -> None:
    text = render_bench(BENCH)
    assert "2 benchmarks, run 2026-12-02 15:57:26 UTC at 0123456789, Test CPU, 2 cores" in text
    assert "| `tick/native` | 73.4 ns |" in text
    assert "| `tick/python_deque` | 524 ns |" in text
    assert "| native vs pure-Python deque (per tick) | 7.14x |" in text


def test_bench_json_without_the_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="bitunix"):
        render_bench({"benchmarks": []})


def test_peer_table_says_where_we_are_slower() -> None:
    text = render_peers(PEERS)
    assert "| workload | bitunix | nautilus_trader 1.221.0 | nautilus_trader / bitunix |" in text
    assert "| rolling VWAP | 80 ns | 120 ns | 1.50x |" in text
    assert "| tick -> order p99 | 4.25 ms | 593 us | 0.14x |" in text
    assert "1,000,000 trades" in text
    assert "load average 1.50" in text


def test_only_the_marked_regions_are_rewritten(tmp_path: Path) -> None:
    doc, bench, peers = tmp_path / "p.md", tmp_path / "b.json", tmp_path / "q.json"
    doc.write_text(PAGE)
    bench.write_text(json.dumps(BENCH))
    peers.write_text(json.dumps(PEERS))
    assert main(["--bench", str(bench), "--peers", str(peers), "--doc", str(doc)]) == 0
    out = doc.read_text()
    assert "old bench table" not in out
    assert "| `tick/native` | 73.4 ns |" in out
    assert "| rolling VWAP | 80 ns | 120 ns | 1.50x |" in out
    for kept in ("intro kept", "after bench kept", "## Soak\n\nsomeone else's section\n"):
        assert kept in out
    # Rendering again gives the same page: the regions are replaced, not appended to.
    assert main(["--bench", str(bench), "--peers", str(peers), "--doc", str(doc)]) == 0
    assert doc.read_text() == out


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(MarkerError, match="peers:begin"):
        replace_region("# no markers\n", "peers", "x")
    doc, peers = tmp_path / "p.md", tmp_path / "q.json"
    doc.write_text("# no markers\n")
    peers.write_text(json.dumps(PEERS))
    assert main(["--peers", str(peers), "--doc", str(doc)]) == 1
    assert doc.read_text() == "# no markers\n"
