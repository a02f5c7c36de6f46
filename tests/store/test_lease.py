"""Single active instance: the lease, its heartbeat and the takeover after it lapses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitunix.store import Lease, SqliteStore, StoreError


class Clock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000_000

    def __call__(self) -> int:
        return self.ns


S = 1_000_000_000


def test_second_instance_waits_until_the_lease_lapses_then_takes_over(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStore(path).close()
    clock = Clock()
    first = Lease(path, "bot-a", ttl_s=10, now_ns=clock)
    standby = Lease(path, "bot-b", ttl_s=10, now_ns=clock)
    assert standby.holder() is None
    assert first.try_acquire()
    assert not standby.try_acquire()
    assert not standby.held
    for _ in range(5):  # the holder heartbeats: the standby never gets in
        clock.ns += 6 * S
        assert first.renew()
        assert not standby.try_acquire()
    holder = standby.holder()
    assert holder is not None
    assert holder.owner == "bot-a"
    assert holder.expires_ns == clock.ns + 10 * S
    clock.ns += 10 * S + 1  # the holder stopped heartbeating: lapsed
    assert standby.try_acquire()
    assert standby.takeovers == 1
    assert not first.renew()  # the old holder learns it lost the lease
    assert not first.held
    assert not first.try_acquire()
    standby.release()
    assert first.try_acquire()  # a clean release hands over at once
    first.close()
    standby.close()


def test_reacquiring_keeps_the_acquisition_time(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStore(path).close()
    clock = Clock()
    lease = Lease(path, "a", ttl_s=5, now_ns=clock)
    assert lease.try_acquire()
    start = clock.ns
    clock.ns += S
    assert lease.try_acquire()
    holder = lease.holder()
    assert holder is not None
    assert holder.acquired_ns == start
    lease.close()


def test_bad_lease_settings_and_broken_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    SqliteStore(path).close()
    with pytest.raises(StoreError, match="ttl"):
        Lease(path, "a", ttl_s=0, now_ns=Clock())
    lease = Lease(path, "a", ttl_s=1, now_ns=Clock())
    lease._conn.execute("DROP TABLE lease")
    for call in (lease.try_acquire, lease.renew, lease.holder, lease.release):
        with pytest.raises(StoreError, match="lease"):
            call()
    lease.close()
