"""Rotated gzip parts: names in time order, rotation by size and time, flushes a killed
process can be read back to, and the frames byte for byte."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from bitunix.data.files import iter_market_file, market_paths
from bitunix.data.recording import RecordingError, iter_recording
from bitunix.data.rotating import PART_NAME, RotatingRecordingWriter

T0 = 1_723_075_200_000_000_000
S = 1_000_000_000


def _frame(i: int) -> bytes:
    return json.dumps({"ch": "trade", "symbol": "BTCUSDT", "ts": i,
                       "data": [{"p": f"{60000 + i % 101}.5", "v": "0.001", "s": "buy",
                                 "t": "x"}]}, separators=(",", ":")).encode()


def _lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).split(b"\n")[:-1]


def test_frames_come_back_byte_for_byte(tmp_path: Path) -> None:
    frames = [_frame(i) for i in range(100)] + [b'{"op":"connect","x":"\xc3\xa9 \\u00e9"}']
    with RotatingRecordingWriter(tmp_path) as w:
        for i, frame in enumerate(frames):
            w.write(T0 + i, frame)
    (part,) = w.parts
    assert PART_NAME.fullmatch(part.name)
    assert part.name == "part-000001-20240808T000000Z.txt.gz"
    assert _lines(part) == [b"%d %b" % (T0 + i, f) for i, f in enumerate(frames)]
    assert [m for _, m in iter_recording(part)][-1] == {"op": "connect", "x": "é é"}
    assert w.lines == 101


def test_rotation_by_time_and_by_size(tmp_path: Path) -> None:
    with RotatingRecordingWriter(tmp_path / "t", rotate_s=10) as w:
        for i in range(35):
            w.write(T0 + i * S, _frame(i))
    assert [len(_lines(p)) for p in w.parts] == [10, 10, 10, 5]
    names = [p.name for p in w.parts]
    assert names == sorted(names)
    assert names[1] == "part-000002-20240808T000010Z.txt.gz"
    rng = random.Random(1)
    noise = [bytes(rng.getrandbits(8) for _ in range(300)).replace(b"\n", b" ")
             for _ in range(2000)]
    with RotatingRecordingWriter(tmp_path / "s", rotate_bytes=100_000) as w:
        for i, frame in enumerate(noise):
            w.write(T0 + i, frame)
    sizes = [p.stat().st_size for p in w.parts]
    assert len(sizes) >= 5
    assert all(100_000 <= s < 100_000 + 70_000 for s in sizes[:-1])
    back = [line for p in w.parts for line in _lines(p)]
    assert back == [b"%d %b" % (T0 + i, f) for i, f in enumerate(noise)]


def test_a_second_run_goes_on_after_the_first(tmp_path: Path) -> None:
    with RotatingRecordingWriter(tmp_path) as w:
        w.write(T0 + 5 * S, _frame(1))
    (tmp_path / "notes.txt").write_text("kept")
    with RotatingRecordingWriter(tmp_path) as w2:
        w2.write(T0, _frame(2))  # an earlier clock: the sequence still orders the parts
    assert w2.parts[0].name.startswith("part-000002-")
    assert [p.name[:11] for p in market_paths(tmp_path / "part-*")] == [
        "part-000001", "part-000002"]


def test_tick_flushes_and_rotates_while_quiet(tmp_path: Path) -> None:
    w = RotatingRecordingWriter(tmp_path, rotate_s=60, flush_s=1)
    w.tick(T0)  # nothing open: nothing to do
    w.write(T0, _frame(0))
    w.write(T0 + 1, _frame(1))
    (part,) = w.parts
    w.tick(T0 + S // 2)  # not due: the lines are still in memory
    assert _truncated_ok(part) == []
    w.tick(T0 + 2 * S)  # flushed: both lines readable before close
    assert [ts for ts, _ in _truncated_ok(part)] == [T0, T0 + 1]
    w.tick(T0 + 61 * S)  # rotated: the part is complete
    assert _lines(part) == [b"%d %b" % (T0, _frame(0)), b"%d %b" % (T0 + 1, _frame(1))]
    w.write(T0 + 62 * S, _frame(2))
    assert len(w.parts) == 2
    w.close()
    w.close()


def _truncated_ok(path: Path) -> list[tuple[int, object]]:
    copy = path.with_name("copy-" + path.name)
    copy.write_bytes(path.read_bytes())
    return [(e.ts_ns, e) for e in iter_market_file(copy.parent / "copy-*")]


def test_a_killed_writer_leaves_a_part_read_to_its_last_flush(tmp_path: Path) -> None:
    w = RotatingRecordingWriter(tmp_path / "rec", flush_s=1)
    for i in range(3000):
        w.write(T0 + i * (S // 1000), _frame(i))  # 3 s of frames: flushed each second
    # No close: what is on disk is what a SIGKILL leaves.
    events = list(iter_market_file(tmp_path / "rec"))
    assert 2000 <= len(events) < 3000
    assert [e.ts_ns for e in events] == [T0 + i * (S // 1000) for i in range(len(events))]
    w.close()
    assert len(list(iter_market_file(tmp_path / "rec"))) == 3000


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        RotatingRecordingWriter(tmp_path, rotate_s=0)
    with RotatingRecordingWriter(tmp_path) as w, pytest.raises(RecordingError, match="newline"):
        w.write(T0, b'{"a":\n1}')
    assert w.lines == 0
    assert w.compressed_bytes == 0
