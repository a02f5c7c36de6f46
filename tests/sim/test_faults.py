"""Fault knobs: seeded draws, clearing."""

from __future__ import annotations

from decimal import Decimal

from bitunix.sim.faults import Faults


def test_rejections_are_seeded_and_proportional() -> None:
    a, b = Faults(reject_fraction=0.3, seed=7), Faults(reject_fraction=0.3, seed=7)
    draws_a = [a.should_reject() for _ in range(2000)]
    assert draws_a == [b.should_reject() for _ in range(2000)]
    assert 0.25 < sum(draws_a) / len(draws_a) < 0.35
    assert not any(Faults(seed=7).should_reject() for _ in range(100))


def test_clear_turns_everything_off() -> None:
    f = Faults(reject_fraction=1.0, delay_s=1.0, silent=True, rest_hang=True,
               partial_fill_fraction=Decimal("0.5"))
    f.clear()
    assert (f.reject_fraction, f.delay_s, f.silent, f.rest_hang, f.partial_fill_fraction) == (
        0.0, 0.0, False, False, None)
    assert not f.should_reject()
