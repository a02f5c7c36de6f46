"""``bitunix-bot record`` against the simulator on 127.0.0.1, and ``record convert``."""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.data import BookEvent, MarketEvent, TradeEvent, bundled_capture, iter_capture
from bitunix.data.files import iter_market_file
from bitunix.data.lines import DataFileError
from bitunix.data.parquet import iter_parquet, write_parquet
from bitunix.data.recording import iter_recording
from bitunix.sim.server import WsSession
from bitunix.wire.decoding import decode
from bitunix.wire.public import DepthPush, TradePush


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 4,000 events of the bundled capture (trades and books), as Parquet."""
    path = tmp_path_factory.mktemp("data") / "btc.parquet"
    write_parquet(itertools.islice(iter_capture(), 4000), path)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_recorded_frames_are_the_sent_bytes_and_decode_to_the_same_events(
        tmp_path: Path, small_data: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    original = WsSession.send_text

    def spy(self: WsSession, text: str) -> None:
        sent.append(text)
        original(self, text)

    monkeypatch.setattr(WsSession, "send_text", spy)
    out = tmp_path / "rec"
    code, stdout, err = _run(["record", "--out", str(out), "--data", str(small_data),
                              "--speed", "200", "--duration", "60"], capsys)
    assert code == 0, err
    assert "the simulator's market data ended" in stdout
    assert "venue sim: ws://127.0.0.1:" in stdout
    (part,) = out.iterdir()
    lines = gzip.decompress(part.read_bytes()).split(b"\n")
    assert lines[-1] == b""  # the last line is complete, the gzip member finished
    frames = [line.partition(b" ")[2] for line in lines[:-1]]
    times = [int(line.partition(b" ")[0]) for line in lines[:-1]]
    # Every frame the simulator sent, byte for byte and in order.
    assert frames == [text.encode() for text in sent]
    assert times == sorted(times)
    assert abs(times[0] - time.time_ns()) < 120 * 10**9
    # Decoded by the bot's own decoder: the same messages as the frames sent.
    assert [decode(f) for f in frames] == [decode(t) for t in sent]
    # And as events: every trade of the source, exactly, and the books pushed.
    events = list(iter_market_file(out))
    source_trades = [e for e in iter_parquet(small_data) if isinstance(e, TradeEvent)]
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert [(e.symbol, e.price, e.qty, e.is_buy) for e in trades] == [
        (e.symbol, e.price, e.qty, e.is_buy) for e in source_trades]
    pushed = [m for m in map(decode, frames) if isinstance(m, TradePush | DepthPush)]
    assert len(pushed) == len(trades) + sum(isinstance(e, BookEvent) for e in events)
    books = [e for e in events if isinstance(e, BookEvent)]
    depth = [m for m in pushed if isinstance(m, DepthPush)]
    assert books
    assert [([(float(p), float(q)) for p, q in b.bids], [(float(p), float(q)) for p, q in b.asks])
            for b in books] == [([(lv.px, lv.qty) for lv in d.data.b],
                                 [(lv.px, lv.qty) for lv in d.data.a])
                                for d in depth if d.data.b or d.data.a]
    assert [ts for ts, _ in iter_recording(part)] == times


def test_rotation_by_time_gives_parts_that_read_as_one(
        tmp_path: Path, small_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rot"
    code, stdout, err = _run(["record", "--out", str(out), "--data", str(small_data),
                              "--speed", "20", "--rotate-s", "0.5", "--depth-channel",
                              "depth_book1"], capsys)
    assert code == 0, err
    parts = sorted(out.iterdir())
    assert len(parts) >= 3, stdout
    assert all(gzip.decompress(p.read_bytes()).endswith(b"\n") for p in parts)
    trades = [e for e in iter_market_file(out) if isinstance(e, TradeEvent)]
    assert len(trades) == sum(isinstance(e, TradeEvent) for e in iter_parquet(small_data))
    books = [e for e in iter_market_file(out) if isinstance(e, BookEvent)]
    assert books
    assert all(len(b.bids) <= 1 for b in books)
    for part in parts:
        assert str(part) in stdout


def test_rotation_by_size(tmp_path: Path, small_data: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "size"
    code, _, err = _run(["record", "--out", str(out), "--data", str(small_data), "--speed",
                         "200", "--rotate-mb", "0.01"], capsys)
    assert code == 0, err
    # The size is checked as compressed data reach the file (zlib holds back up to tens of
    # KiB): ~30 KB of frames make two parts of about 10 KiB and more.
    sizes = [p.stat().st_size for p in sorted(out.iterdir())]
    assert len(sizes) >= 2
    assert all(s >= 10_000 for s in sizes[:-1])
    trades = [e for e in iter_market_file(out) if isinstance(e, TradeEvent)]
    assert len(trades) == sum(isinstance(e, TradeEvent) for e in iter_parquet(small_data))


def test_convert_round_trips_every_format(tmp_path: Path, small_data: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    assert _run(["record", "--out", str(rec), "--data", str(small_data), "--speed", "200"],
                capsys)[0] == 0
    csv = tmp_path / "BTCUSDT-trades.csv"
    trades = [e for e in iter_parquet(small_data) if isinstance(e, TradeEvent)]
    csv.write_text("timestamp,price,qty,side\n" + "".join(
        f"{e.ts_ns},{e.price},{e.qty},{'buy' if e.is_buy else 'sell'}\n" for e in trades))
    capture = bundled_capture("ETHUSDT")
    for name, source in [("rec", rec), ("csv", csv), ("parquet", small_data),
                         ("capture", capture)]:
        target = tmp_path / f"{name}.parquet"
        code, stdout, err = _run(["record", "convert", str(source), "--out", str(target)],
                                 capsys)
        assert code == 0, err
        assert f"to {target}" in stdout
        assert list(iter_parquet(target)) == list(iter_market_file(source)), name
    both = tmp_path / "both.parquet"
    code, stdout, err = _run(["record", "convert", str(small_data), str(rec / "part-*"),
                              "--out", str(both), "--symbol", "btcusdt"], capsys)
    assert code == 0, err
    assert list(iter_parquet(both)) == [*iter_parquet(small_data), *iter_market_file(rec)]
    code, stdout, err = _run(["record", "convert", str(rec / "part-*"), str(small_data),
                              "--out", str(both)], capsys)
    assert code == 1
    assert "parts out of order" in err  # the recording's times are now, the capture's 2024
    assert both.stat().st_size  # the earlier file stays as it was
    assert not list(tmp_path.glob(".both*"))


def test_convert_refusals(tmp_path: Path, small_data: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["record", "convert", str(tmp_path / "missing.csv"), "--out", "x.parquet"],
         "missing.csv: no such market-data file"),
        (["record", "convert", str(small_data), "--out", str(small_data)], "is also an input"),
        (["record", "convert", str(small_data), "--out", str(tmp_path / "no/dir/x.parquet")],
         "no directory"),
        (["record", "convert", str(small_data), "--out", str(tmp_path / "e.parquet"),
          "--symbol", "ETHUSDT"], "no market events of ETHUSDT"),
    ]
    for argv, fragment in cases:
        code, _, err = _run(argv, capsys)
        assert code == 1
        assert len(err.splitlines()) == 1
        assert fragment in err, err
    assert not (tmp_path / "e.parquet").exists()


@pytest.mark.parametrize(("argv", "fragment"), [
    (["record"], "--out DIR is required"),
    (["record", "--out", "{out}", "--symbols", "btc-usdt"], "'BTC-USDT' is not a symbol"),
    (["record", "--out", "{out}", "--symbols", ","], "no symbol"),
    (["record", "--out", "{out}", "--symbols", "NOPEUSDT"], "not a contract of the simulator"),
    (["record", "--out", "{out}", "--ws-url", "http://x"], "--ws-url must be a ws:// or wss://"),
    (["record", "--out", "{file}"], "cannot make the directory"),
    (["record", "--out", "{out}", "--data", "{empty}"], "no market events in"),
    (["record", "--out", "{out}", "--ws-url", "ws://127.0.0.1:9/public/", "--duration", "1"],
     "not connected and subscribed within 1 s"),
])
def test_record_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                         fragment: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty.csv").write_text("")
    names = {"out": str(tmp_path / "o"), "file": str(tmp_path / "file"),
             "empty": str(tmp_path / "empty.csv")}
    code, _, err = _run([a.format(**names) for a in argv], capsys)
    assert code == 1
    assert "Traceback" not in err
    assert fragment in err.splitlines()[-1], err


def test_a_frame_with_a_newline_is_counted_not_fatal(tmp_path: Path) -> None:
    from bitunix.cli.record import Recorder
    from bitunix.data.rotating import RotatingRecordingWriter

    recorder = Recorder(tmp_path, ["BTCUSDT"])
    recorder._sink(1, b"ignored: no writer yet")
    recorder._writer = RotatingRecordingWriter(tmp_path)
    recorder._sink(1, b'{"op":\n"x"}')
    recorder._sink(2, b'{"op":"x"}')
    recorder._writer.close()
    assert (recorder.refused, recorder.frames) == (1, 1)
    recorder.parts = list(recorder._writer.parts)
    assert "1 frames with a newline not recorded" in recorder.summary()


def test_a_failing_disk_stops_the_recording_with_one_line(
        tmp_path: Path, small_data: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bitunix.data.rotating import RotatingRecordingWriter

    def full(self: RotatingRecordingWriter, recv_ts_ns: int, frame: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RotatingRecordingWriter, "write", full)
    code, _, err = _run(["record", "--out", str(tmp_path / "r"), "--data", str(small_data),
                         "--speed", "20", "--duration", "30"], capsys)
    assert code == 1
    assert "cannot write the recording: No space left on device" in err


def _start(out: Path, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bitunix", "record", "--out", str(out), "--data", str(data),
         "--speed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for_lines(out: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if len(list(iter_market_file(out))) >= n:
                return
        except DataFileError:  # the first part is not there yet
            pass
        time.sleep(0.2)
    raise AssertionError("no frames recorded")


@pytest.mark.parametrize(("sig", "want_code", "last_line"), [
    (signal.SIGTERM, 0, "stopped by SIGTERM"),
    (signal.SIGINT, 130, "bitunix-bot record: interrupted"),
])
def test_a_signal_stops_cleanly_and_finishes_the_part(
        tmp_path: Path, small_data: Path, sig: signal.Signals, want_code: int,
        last_line: str) -> None:
    out = tmp_path / "rec"
    proc = _start(out, small_data)
    _wait_for_lines(out, 5, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == want_code, stderr
    assert "Traceback" not in stderr
    assert last_line in stdout + stderr
    (part,) = out.iterdir()
    lines = gzip.decompress(part.read_bytes()).split(b"\n")  # a complete gzip member
    assert len(lines) > 5
    assert lines[-1] == b""


def test_a_killed_recorder_loses_at_most_the_unflushed_tail(
        tmp_path: Path, small_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "rec"
    proc = _start(out, small_data)
    _wait_for_lines(out, 5, proc)
    time.sleep(1.5)
    proc.kill()
    proc.communicate(timeout=30)
    (part,) = out.iterdir()
    with pytest.raises(EOFError):
        gzip.decompress(part.read_bytes())
    events: list[MarketEvent] = list(iter_market_file(out))
    assert len(events) >= 5
    assert "read up to its last complete line" in caplog.text


def _gz(text: str) -> bytes:
    return gzip.compress(text.encode())


T_MS = 1_723_075_200_123
CSV_HEAD = "timestamp,price,qty,side\n"
# name -> (bytes, what the one error line must say besides the file's name)
BAD_INPUTS: dict[str, tuple[bytes, list[str]]] = {
    "BTCUSDT-cut.csv.gz": (_gz(CSV_HEAD + "".join(f"{T_MS + i},{100 + i % 7}.5,1,buy\n"
                                                  for i in range(20_000)))[:-300],
                           ["end early"]),
    "BTCUSDT-empty.csv": (b"", ["no market events in", "empty"]),
    "BTCUSDT-garbage.gz": (bytes((i * 97 + 13) % 256 for i in range(4096)),
                           [":1:", "not valid gzip"]),
    "BTCUSDT-header.csv": (b"when,px,size\n1,2,3\n", [":1:", "'when,px,size'"]),
    "BTCUSDT-nan.csv": ((CSV_HEAD + f"{T_MS},nan,1,buy\n").encode(), [":2:", "price 'nan'"]),
    "BTCUSDT-inf.csv": ((CSV_HEAD + f"{T_MS},1,-inf,buy\n").encode(), [":2:", "'-inf'"]),
    "BTCUSDT-neg.csv": ((CSV_HEAD + f"{T_MS},-1,1,buy\n").encode(), [":2:", "price '-1'"]),
    "BTCUSDT-zero.csv": ((CSV_HEAD + f"{T_MS},1,0,buy\n").encode(), [":2:", "quantity '0'"]),
    "BTCUSDT-back.csv": ((CSV_HEAD + f"{T_MS},1,1,buy\n{T_MS - 1},1,1,buy\n").encode(),
                         [":3:", "goes back in time"]),
    "BTCUSDT-ts.csv": ((CSV_HEAD + "yesterday,1,1,buy\n").encode(), [":2:", "'yesterday'"]),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_inputs_are_one_line_naming_file_line_and_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    data, fragments = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = _run(["record", "convert", str(path), "--out", str(tmp_path / "o.parquet")],
                        capsys)
    assert code == 1
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("bitunix-bot record: error: ")
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert not (tmp_path / "o.parquet").exists()


def test_ws_url_records_from_any_bitunix_compatible_server(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A venue in another process (the simulator's own command) given by --ws-url."""
    sim = subprocess.Popen(
        [sys.executable, "-m", "bitunix", "sim", "--port", "0", "--speed", "50",
         "--wait-for-subscriber", "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        urls = dict(sim.stdout.readline().split() for _ in range(4))
        url = urls["public_ws_url"]
        code, stdout, err = _run(["record", "--ws-url", url, "--out", str(tmp_path / "r"),
                                  "--symbols", "btcusdt", "--duration", "3"], capsys)
    finally:
        sim.terminate()
        sim.communicate(timeout=30)
    assert code == 0, err
    assert "venue sim" not in stdout
    assert f"from {url}" in stdout
    assert "--duration 3 s" in stdout
    trades = [e for e in iter_market_file(tmp_path / "r") if isinstance(e, TradeEvent)]
    assert len(trades) > 10
    assert {e.symbol for e in trades} == {"BTCUSDT"}
