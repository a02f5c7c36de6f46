"""The soak driver (bench/soak.py): a few seconds of the real run, and its checks failing on
what they must catch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.soak import Sample, SoakResult, SoakSettings, check, main, percentile, slope_per_min

FIELDS = {"t_s", "rss_mib", "sim_rss_mib", "lag_p99_ms", "lag_max_ms", "messages", "msg_per_s",
          "orders", "fills", "t2o_count", "t2o_p50_us", "t2o_p99_us", "gc_count", "gc_max_ms",
          "gc_total_ms"}


@pytest.mark.timeout(90)
def test_a_short_soak_writes_its_json_and_plot_and_loses_no_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bounded by messages (about 4 s here), with SOAK_SECONDS as the backstop.
    monkeypatch.setenv("SOAK_SECONDS", "40")
    monkeypatch.setenv("SOAK_MESSAGES", "30000")
    monkeypatch.setenv("SOAK_MIN_ORDERS", "1")
    monkeypatch.setenv("SOAK_RSS_SLOPE_MIB_MIN", "1e9")
    monkeypatch.setenv("SOAK_DRIFT_RATIO", "1e9")
    out = tmp_path / "res"
    rc = main(["--out", str(out)])
    text = capsys.readouterr().out
    body = json.loads((out / "soak.json").read_text())
    assert (out / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The exit code follows the checks, and a failure is one line naming the first reason.
    assert rc == (1 if body["failures"] else 0)
    if body["failures"]:
        assert f"soak: FAIL: {body['failures'][0]}" in text
    else:
        assert "soak: PASS" in text
    samples = body["samples"]
    assert len(samples) >= 2
    assert set(samples[0]) == FIELDS
    assert all(s["rss_mib"] > 10 for s in samples)
    assert samples[-1]["messages"] >= 30_000
    assert samples[-1]["t_s"] < 35  # the simulator pushed at a high rate
    assert body["stop_reason"] == f"{samples[-1]['messages']} messages (SOAK_MESSAGES 30000)"
    assert body["summary"]["interrupted"] is False  # the driver's own stop, not a Ctrl-C
    assert body["summary"]["orders"] >= 1  # orders flowed
    audit = body["orders"]
    assert audit["venue_orders_with_client_id"] >= 1
    for key in ("duplicated_orders", "unknown_client_ids", "lost_orders", "lost_fills",
                "duplicated_fills"):
        assert audit[key] == 0, key
    assert audit["bot_fills"] == audit["venue_fills"]
    # Every order of the bot is at the venue once, or accounted for by its final state.
    unsent = sum(n for k, n in audit.items() if k.startswith("not_at_venue_"))
    assert audit["venue_orders_with_client_id"] + unsent == audit["bot_orders"]
    assert not [f for f in body["failures"] if "bot vs venue" in f or "run failed" in f]
    fig = body["figures"]
    assert fig["messages"] == samples[-1]["messages"]
    assert fig["rss_start_mib"] == samples[0]["rss_mib"]
    assert body["lag_ms"]["count"] >= 15 * len(samples)  # a 50 ms timer
    assert body["settings"]["messages"] == 30_000


def _result(*, rss: list[float], t2o: list[tuple[float, float]], orders: int = 50,
            audit: dict[str, int] | None = None, failures: list[str] | None = None
            ) -> SoakResult:
    samples = [Sample(t_s=float(i + 1), rss_mib=r, sim_rss_mib=90.0, lag_p99_ms=1.0, lag_max_ms=2.0,
                      messages=10_000 * (i + 1), msg_per_s=10_000.0, orders=orders, fills=0,
                      t2o_count=0, t2o_p50_us=None, t2o_p99_us=None, gc_count=0,
                      gc_max_ms=0.0, gc_total_ms=0.0) for i, r in enumerate(rss)]
    return SoakResult(
        settings={"rss_slope_mib_min": 1.0, "drift_ratio": 1.5, "min_orders": 10,
                  "min_samples_per_third": 10},
        machine={}, started_utc="", wall_s=0.0, stop_reason="", samples=samples, t2o_us=t2o,
        lag_ms=[1.0, 2.0], gc_pauses_ms=[0.5], summary={"orders": orders,
                                                         "failures": failures or []},
        orders=audit or {})


FLAT = [100.0 + (i % 2) * 0.2 for i in range(120)]
STEADY = [(t / 2, 500.0 + (t % 7)) for t in range(240)]


def test_a_flat_steady_clean_run_passes() -> None:
    result = _result(rss=FLAT, t2o=STEADY, audit={"duplicated_orders": 0, "lost_orders": 0})
    assert check(result) == []
    assert result.figures["rss_slope_second_half_mib_min"] == pytest.approx(0.0, abs=0.05)
    assert result.figures["t2o_first_third_n"] == 81


def test_memory_growing_in_the_second_half_fails() -> None:
    # Flat for a minute, then 2 MiB/min: only the second half is judged.
    rss = [100.0] * 60 + [100.0 + 2.0 * i / 60 for i in range(60)]
    result = _result(rss=rss, t2o=STEADY)
    fails = check(result)
    assert len(fails) == 1
    assert fails[0].startswith("RSS grew ")
    assert "(bound 1.0 MiB/min)" in fails[0]
    assert result.figures["rss_slope_second_half_mib_min"] == pytest.approx(2.0, rel=0.05)


def test_latency_drift_fails_and_too_few_samples_is_no_pass() -> None:
    drifting = [(t / 2, 500.0 if t < 160 else 900.0) for t in range(240)]
    fails = check(_result(rss=FLAT, t2o=drifting))
    assert fails == ["tick-to-order p99 drifted: 900.0 us in the last third vs 500.0 us in "
                     "the first (bound 1.5x)"]
    fails = check(_result(rss=FLAT, t2o=[(1.0, 5.0), (119.0, 5.0)]))
    assert fails[0].startswith("too few tick-to-order samples")


def test_lost_or_duplicated_orders_and_stalled_orders_fail() -> None:
    fails = check(_result(rss=FLAT, t2o=STEADY, orders=3,
                          audit={"duplicated_orders": 1, "lost_fills": 2},
                          failures=["flatten on exit left 1 open"]))
    assert fails == ["1 duplicated orders (bot vs venue)", "2 lost fills (bot vs venue)",
                     "orders did not flow: 3 orders (need 10)",
                     "run failed: flatten on exit left 1 open"]


def test_settings_come_from_the_environment() -> None:
    s = SoakSettings.from_env({"SOAK_SECONDS": "120", "SOAK_MESSAGES": "1e6",
                               "SOAK_RSS_SLOPE_MIB_MIN": "0.5"})
    assert (s.seconds, s.messages, s.rss_slope_mib_min, s.drift_ratio) == (120.0, 1_000_000,
                                                                            0.5, 1.5)


def test_percentile_and_slope() -> None:
    assert percentile([], 99) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0
    assert slope_per_min([(0.0, 1.0)]) == 0.0
    assert slope_per_min([(0.0, 1.0), (60.0, 3.0)]) == pytest.approx(2.0)
