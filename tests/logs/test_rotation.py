"""Rotation by size and by day, gzip archives, and the deletion of old ones."""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

from bitunix.logs import ArchivingFileHandler, KeyValueFormatter

DAY = 86_400.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _log(handler: logging.Handler, msg: str) -> None:
    handler.handle(logging.LogRecord("bitunix.t", logging.INFO, __file__, 1, msg, None, None))


def _handler(path: Path, clock: FakeClock, **kwargs: object) -> ArchivingFileHandler:
    handler = ArchivingFileHandler(path, clock=clock, **kwargs)  # type: ignore[arg-type]
    handler.setFormatter(KeyValueFormatter())
    return handler


def test_size_rotation_archives_every_line_once(tmp_path: Path) -> None:
    clock = FakeClock(1_796_234_252.0)
    path = tmp_path / "bot.log"
    handler = _handler(path, clock, max_bytes=1024)
    for i in range(60):  # ~90 bytes a line: about five rotations
        clock.now += 1
        _log(handler, f"line {i:03d}")
    handler.wait_archived()
    archives = handler.archives()
    assert len(archives) >= 4
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp",))]
    assert not [p for p in tmp_path.iterdir() if p not in archives and p != path]
    lines = []
    for archive in archives:
        data = gzip.decompress(archive.read_bytes()).decode()
        assert len(data) <= 1024
        lines += data.splitlines()
    handler.close()
    lines += path.read_text().splitlines()
    assert [line.split("msg=")[1] for line in lines] == [
        f'"line {i:03d}"' for i in range(60)]


def test_daily_rotation_at_utc_midnight(tmp_path: Path) -> None:
    clock = FakeClock(20_000 * DAY + 86_399.0)  # 23:59:59 UTC
    path = tmp_path / "bot.log"
    handler = _handler(path, clock, rotate="daily", max_bytes=1024)
    for i in range(40):  # far more than max_bytes: daily ignores size
        _log(handler, f"day one {i}")
    assert handler.archives() == []
    clock.now += 2  # 00:00:01 the next day
    _log(handler, "day two")
    handler.wait_archived()
    [archive] = handler.archives()
    assert archive.name == "bot.log.20241005T000001.gz"
    assert gzip.decompress(archive.read_bytes()).decode().count("day one") == 40
    handler.close()
    assert "day two" in path.read_text()
    assert "day one" not in path.read_text()


def test_archives_older_than_keep_days_are_deleted(tmp_path: Path) -> None:
    now = 1_796_234_252.0
    clock = FakeClock(now)
    path = tmp_path / "bot.log"
    ages = {"bot.log.20261101T000000.gz": 31, "bot.log.20261124T000000.gz": 8.5,
            "bot.log.20261126T000000.gz": 6.5, "other.log.20261101T000000.gz": 31}
    for name, age_days in ages.items():
        (tmp_path / name).write_bytes(gzip.compress(b"old\n"))
        os.utime(tmp_path / name, (now - age_days * DAY, now - age_days * DAY))
    handler = _handler(path, clock, keep_days=7, max_bytes=1024)  # pruned when opened
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["bot.log", "bot.log.20261126T000000.gz", "other.log.20261101T000000.gz"]
    clock.now += 1 * DAY  # the 6.5-day archive is now 7.5 days old: the next rotation drops it
    handler.do_rollover()
    handler.wait_archived()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["bot.log", "bot.log.20261203T175732.gz", "other.log.20261101T000000.gz"]
    handler.close()


def test_two_rotations_in_one_second_keep_both(tmp_path: Path) -> None:
    clock = FakeClock(1_796_234_252.0)
    handler = _handler(tmp_path / "bot.log", clock)
    _log(handler, "a")
    handler.do_rollover()
    _log(handler, "b")
    handler.do_rollover()
    handler.wait_archived()
    assert [p.name for p in handler.archives()] == ["bot.log.20261202T175732-2.gz",
                                                    "bot.log.20261202T175732.gz"]
    handler.close()


def test_a_file_from_an_earlier_day_rotates_at_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    path.write_text("yesterday\n")
    now = 1_796_234_252.0
    os.utime(path, (now - DAY, now - DAY))
    handler = _handler(path, FakeClock(now), rotate="daily")
    _log(handler, "today")
    handler.wait_archived()
    [archive] = handler.archives()
    assert gzip.decompress(archive.read_bytes()) == b"yesterday\n"
    handler.close()
