"""Benchmarks compare against a baseline measured in the same run.

Each benchmark may record its per-operation median under a name with ``record``; at the
end of the session the ratios declared in ``RATIOS`` by the benchmark modules are printed.
Absolute numbers from other machines are never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

MEDIANS_NS: dict[str, float] = {}


def record_percentiles(name: str, samples_ns: list[int], benchmark: Any,
                       unit: str = "samples") -> tuple[float, float]:
    """p50/p99 of ``samples_ns``: into the benchmark's extra info, the session summary and
    the output; returns them (ns)."""
    import numpy as np

    lat = np.asarray(samples_ns, dtype=np.float64)
    p50, p99 = float(np.percentile(lat, 50)), float(np.percentile(lat, 99))
    benchmark.extra_info[f"{name} p50_us"] = round(p50 / 1000, 2)
    benchmark.extra_info[f"{name} p99_us"] = round(p99 / 1000, 2)
    MEDIANS_NS[f"{name} p50"] = p50
    MEDIANS_NS[f"{name} p99"] = p99
    print(f"\n{name}: p50 {p50 / 1000:.2f} us, p99 {p99 / 1000:.2f} us "
          f"over {len(samples_ns)} {unit}")
    return p50, p99
# (label, numerator, denominator): how many times faster the denominator is.
RATIOS: list[tuple[str, str, str]] = []


@pytest.fixture
def record() -> Callable[..., None]:
    """``record(name, benchmark, ops_per_round)``: keep the median ns per operation."""

    def _record(name: str, benchmark: object, ops: int = 1) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is not None:
            MEDIANS_NS[name] = stats.stats.median * 1e9 / ops

    return _record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MEDIANS_NS:
        return
    terminalreporter.section("per-operation medians and in-run ratios")
    for name, ns in sorted(MEDIANS_NS.items()):
        terminalreporter.write_line(f"{name:<48} {ns:12.1f} ns/op")
    for label, slow, fast in RATIOS:
        if slow in MEDIANS_NS and fast in MEDIANS_NS:
            ratio = MEDIANS_NS[slow] / MEDIANS_NS[fast]
            terminalreporter.write_line(f"{label:<48} {ratio:10.1f}x")


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list[Any],
                                 output_json: dict[str, Any]) -> None:
    """``--benchmark-json``: the per-operation medians and the in-run ratios of the session
    summary go into the JSON too (``tools/perf_tables.py`` renders docs/performance.md's
    benchmark tables from them)."""
    ratios = []
    for label, slow, fast in RATIOS:
        if slow in MEDIANS_NS and fast in MEDIANS_NS and MEDIANS_NS[fast] > 0:
            ratios.append({"label": label, "slow": slow, "fast": fast,
                           "ratio": MEDIANS_NS[slow] / MEDIANS_NS[fast]})
    output_json["bitunix"] = {"medians_ns": dict(sorted(MEDIANS_NS.items())),
                              "ratios": ratios}
