"""The latency probe and its ring."""

from __future__ import annotations

import pytest

from bitunix.core.latency import LatencyProbe, LatencyRing


def test_ring_percentiles_and_wrap() -> None:
    ring = LatencyRing(capacity=4)
    assert ring.percentile_us(50) is None
    for ns in (1000, 2000, 3000, 4000, 5000):  # 1000 is overwritten
        ring.add(ns)
    assert ring.count == 5
    assert sorted(ring.samples()) == [2000, 3000, 4000, 5000]
    assert ring.percentile_us(50) == 3.0
    assert ring.percentile_us(99) == 5.0
    assert ring.percentile_us(0) == 2.0
    with pytest.raises(ValueError, match="capacity"):
        LatencyRing(0)


def test_probe_measures_both_spans_from_their_starts() -> None:
    now = [0]
    probe = LatencyProbe(clock=lambda: now[0])
    now[0] = 100
    probe.start_event()
    now[0] = 250
    probe.start_signal()
    now[0] = 400
    probe.written()
    assert probe.event_to_order.samples() == [300]
    assert probe.signal_to_order.samples() == [150]
    now[0] = 500
    probe.written()  # a write without a start (e.g. a timer's exit order): no sample
    assert probe.event_to_order.count == 1
    assert probe.signal_to_order.count == 1
    probe.start_event()
    probe.start_signal()
    probe.end_event()  # no order came of that event
    probe.written()
    assert probe.event_to_order.count == 1
    assert probe.signal_to_order.count == 1
