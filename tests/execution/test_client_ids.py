"""Client ids: unique, restart-safe, within the venue's charset and length."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitunix.core.errors import ConfigError
from bitunix.execution import ClientIdFactory
from bitunix.execution.client_ids import MAX_CLIENT_ID_LEN, base36

VALID = re.compile(r"[A-Za-z0-9-]{1,36}")


def test_ids_are_unique_and_carry_the_instance_epoch() -> None:
    ids = ClientIdFactory("bx", 1_723_161_255_123)
    made = [ids.next() for _ in range(5000)]
    assert len(set(made)) == 5000
    assert made[0] == "bx" + base36(1_723_161_255_123) + "-1"
    assert all(VALID.fullmatch(c) for c in made)
    assert ids.issued == 5000
    assert ClientIdFactory.epoch_of(made[-1], "bx") == 1_723_161_255_123
    assert ids.owns(made[7])
    assert ids.is_current(made[7])


def test_a_restart_never_reuses_an_id() -> None:
    first = ClientIdFactory("bx", 1000)
    old = {first.next() for _ in range(100)}
    second = ClientIdFactory("bx", 1000, after_epoch_ms=first.epoch_ms)  # same start ms
    assert second.epoch_ms == 1001
    assert not old & {second.next() for _ in range(100)}
    assert second.owns(next(iter(old)))
    assert not second.is_current(next(iter(old)))


def test_foreign_ids_are_not_ours() -> None:
    ids = ClientIdFactory("bx", 1)
    for cid in ("", None, "manual-1", "bxZZ-1", "bx1", "bx1-", "ab1-1"):
        assert not ids.owns(cid)
    assert ClientIdFactory.epoch_of("manual-1", "bx") is None
    assert ClientIdFactory.epoch_of("bx-1", "bx") is None
    assert ClientIdFactory.epoch_of("bx1", "bx") is None
    assert ClientIdFactory.epoch_of("bx!!-1", "bx") is None


def test_bad_prefix_or_epoch_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="prefix"):
        ClientIdFactory("b-x", 1)
    with pytest.raises(ConfigError, match="prefix"):
        ClientIdFactory("", 1)
    with pytest.raises(ConfigError, match="epoch"):
        ClientIdFactory("bx", -1)
    with pytest.raises(ValueError, match="n >= 0"):
        base36(-1)


def test_an_id_longer_than_the_venue_accepts_is_an_error() -> None:
    ids = ClientIdFactory("abcdefghijkl", 36**23)
    with pytest.raises(ConfigError, match="longer than 36"):
        ids.next()


@given(st.integers(0, 36**12))
def test_base36_round_trips(n: int) -> None:
    assert int(base36(n), 36) == n
    assert len(ClientIdFactory("bitunix", 4_102_444_800_000).next()) <= MAX_CLIENT_ID_LEN
