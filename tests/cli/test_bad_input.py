"""Bad input to any command: one clear line naming the flag or file and the value, a
non-zero exit, never a traceback (issue 15).

The table runs every command through ``bitunix.cli.main``; a few rows run again in a real
``python -m bitunix`` process to prove that nothing reaches stderr but that line.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.data import bundled_capture

SRC = str(Path(__file__).resolve().parents[2] / "src")

SNAPSHOT = {"lastUpdateId": 100, "bids": [["10.0", "1"]], "asks": [["10.1", "3"]]}


def _trade(price: str, qty: str = "1") -> dict[str, object]:
    data = {"e": "trade", "s": "BTCUSDT", "p": price, "q": qty, "m": False, "X": "MARKET"}
    return {"stream": "btcusdt@trade", "data": data}


def _diff(bids: list[list[str]]) -> dict[str, object]:
    data = {"e": "depthUpdate", "s": "BTCUSDT", "U": 101, "u": 102, "pu": 100, "b": bids, "a": []}
    return {"stream": "btcusdt@depth@0ms", "data": data}


def _capture(*messages: tuple[int, dict[str, object]]) -> bytes:
    return b"".join(f"{ts} {json.dumps(m)}\n".encode() for ts, m in messages)


def _gzipped_capture() -> bytes:
    return gzip.compress(_capture(*((i, _trade(f"{10 + i % 7}.5")) for i in range(1, 30_000))))


#: The bad files of the table, by name: what a user may point --data at.
FILES: dict[str, Callable[[], bytes]] = {
    "good.txt": lambda: _capture((1, SNAPSHOT), (2, _trade("10.05")), (3, _diff([["9.9", "2"]]))),
    "truncated.gz": lambda: _gzipped_capture()[:-300],
    "random.gz": lambda: bytes((i * 97 + 13) % 256 for i in range(4096)),
    "plain.gz": lambda: b"this is plain text, not gzip\n",
    "abc.txt": lambda: _capture((1, SNAPSHOT), (2, _trade("abc"))),
    "nandiff.txt": lambda: _capture((1, SNAPSHOT), (2, _diff([["NaN", "1"]]))),
    "huge.txt": lambda: _capture((1, SNAPSHOT), (2, _trade("1e308"))),
    "negative.txt": lambda: _capture((1, SNAPSHOT), (2, _trade("10", "-3"))),
    "backwards.txt": lambda: _capture((5, SNAPSHOT), (6, _trade("10")), (4, _trade("10"))),
    "longline.txt": lambda: b"1 " + b"7" * (2 << 20),
    "empty.txt": lambda: b"",
    "regfile": lambda: b"not a directory",
    "depthless.txt": lambda: (b'1 {"ch":"depth_book1","ts":1,"data":{"b":[["1","1"]],'
                              b'"a":[["2","1"]]}}\n'),
}


@pytest.fixture(scope="module")
def bad_files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    for name, make in FILES.items():
        (root / name).write_bytes(make())
    (root / "badreg").mkdir()
    (root / "badreg" / "registry.json").write_text("{broken")
    return root


@pytest.fixture
def bad_files(bad_files_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory of :data:`FILES`, as the current directory."""
    monkeypatch.chdir(bad_files_dir)
    return bad_files_dir


ARGPARSE = 2  # argparse's own exit code: usage lines, then one error line
# (argv, exit code, what the message line must contain)
CASES: list[tuple[list[str], int, list[str]]] = [
    # replay
    (["replay", "--tick-size", "-1"], ARGPARSE, ["--tick-size", "'-1'", "> 0"]),
    (["replay", "--tick-size", "0"], ARGPARSE, ["--tick-size", "'0'"]),
    (["replay", "--tick-size", "nan"], ARGPARSE, ["--tick-size", "'nan'"]),
    (["replay", "--limit", "-5"], ARGPARSE, ["--limit", "'-5'", ">= 1"]),
    (["replay", "--limit", "x"], ARGPARSE, ["--limit", "'x'"]),
    (["replay", "--data", "good.txt", "--symbol", "NOPE"], 1,
     ["--symbol NOPE", "good.txt", "its symbols: BTCUSDT"]),
    (["replay", "--data", "missing.bin"], 1, ["missing.bin", "no such"]),
    (["replay", "--data", "truncated.gz"], 1, ["truncated.gz:", "end early"]),
    (["replay", "--data", "random.gz"], 1, ["random.gz:1", "not valid gzip"]),
    (["replay", "--data", "plain.gz"], 1, ["plain.gz:1", "not valid gzip"]),
    (["replay", "--data", "abc.txt"], 1, ["abc.txt:2", "price 'abc'"]),
    (["replay", "--data", "nandiff.txt"], 1, ["nandiff.txt:2", "price 'NaN'"]),
    (["replay", "--data", "huge.txt"], 1, ["huge.txt:2", "price '1e308'"]),
    (["replay", "--data", "negative.txt"], 1, ["negative.txt:2", "quantity '-3'"]),
    (["replay", "--data", "backwards.txt"], 1, ["backwards.txt:3", "goes back in time"]),
    (["replay", "--data", "longline.txt"], 1, ["longline.txt:1", "longer than 1048576"]),
    (["replay", "--data", "empty.txt"], 1, ["no market events in empty.txt"]),
    (["replay", "--data", "depthless.txt"], 1, ["depthless.txt:1", "no symbol"]),
    # sim: all refused before it serves or prints anything
    (["sim", "--port", "-1"], ARGPARSE, ["--port", "'-1'", "0-65535"]),
    (["sim", "--port", "70000"], ARGPARSE, ["--port", "'70000'"]),
    (["sim", "--data", "synthetic:abc"], 1, ["--data 'synthetic:abc'", "seed 'abc'"]),
    (["sim", "--data", "synthetic.txt"], 1, ["--data 'synthetic.txt'", "./synthetic.txt"]),
    (["sim", "--data", "missing.bin"], 1, ["--data missing.bin", "no such"]),
    (["sim", "--data", "abc.txt"], 1, ["abc.txt:2", "price 'abc'"]),
    (["sim", "--data", "random.gz"], 1, ["random.gz:1", "not valid gzip"]),
    (["sim", "--data", "empty.txt"], 1, ["no market events in empty.txt"]),
    (["sim", "--data", "good.txt", "--symbol", "ETHUSDT"], 1,
     ["--symbol ETHUSDT", "its symbols: BTCUSDT"]),
    (["sim", "--symbol", "NOPE"], 1, ["--symbol NOPE", "not a contract"]),
    (["sim", "--balance", "-100"], ARGPARSE, ["--balance", "'-100'"]),
    (["sim", "--balance", "nan"], ARGPARSE, ["--balance", "'nan'"]),
    (["sim", "--balance", "lots"], ARGPARSE, ["--balance", "'lots'"]),
    (["sim", "--balance", "1e99"], ARGPARSE, ["--balance", "'1e99'"]),
    (["sim", "--speed", "nan"], ARGPARSE, ["--speed", "'nan'"]),
    (["sim", "--speed", "inf"], ARGPARSE, ["--speed", "'inf'"]),
    (["sim", "--speed", "0"], ARGPARSE, ["--speed", "'0'"]),
    (["sim", "--duration", "-1"], ARGPARSE, ["--duration", "'-1'"]),
    # train: refused before any training
    (["train", "--tick", "BTCUSDT=-0.1"], 1, ["--tick BTCUSDT=-0.1", "> 0"]),
    (["train", "--tick", "BTCUSDT=abc"], 1, ["--tick BTCUSDT=abc", "not a number"]),
    (["train", "--data", "BTCUSDT=/missing.gz"], 1, ["--data BTCUSDT=/missing.gz", "no such"]),
    (["train", "--data", "BTCUSDT=truncated.gz"], 1, ["truncated.gz:", "end early"]),
    (["train", "--data", "BTCUSDT=random.gz"], 1, ["random.gz:1", "not valid gzip"]),
    (["train", "--data", "BTCUSDT=abc.txt"], 1, ["abc.txt:2", "price 'abc'"]),
    (["train", "--data", "BTCUSDT=negative.txt"], 1, ["negative.txt:2", "quantity '-3'"]),
    (["train", "--data", "BTCUSDT=backwards.txt"], 1, ["backwards.txt:3", "goes back"]),
    (["train", "--data", "ETHUSDT=good.txt"], 1, ["--data ETHUSDT", "its symbols: BTCUSDT"]),
    (["train", "--seed", "-1"], ARGPARSE, ["--seed", "'-1'"]),
    (["train", "--seed", "1.5"], ARGPARSE, ["--seed", "'1.5'"]),
    (["train", "--depth", "two"], ARGPARSE, ["--depth", "'two'"]),
    (["train", "--fee-bps", "-1"], ARGPARSE, ["--fee-bps", "'-1'", ">= 0"]),
    (["train", "--min-abs-z", "nan"], ARGPARSE, ["--min-abs-z", "'nan'"]),
    (["train", "--threshold", "high"], ARGPARSE, ["--threshold", "'high'"]),
    (["train", "--trees", "0"], ARGPARSE, ["--trees", "'0'"]),
    (["train", "--threshold", "1.5"], ARGPARSE, ["--threshold", "'1.5'"]),
    (["train", "--horizon-s", "inf"], ARGPARSE, ["--horizon-s", "'inf'"]),
    (["train", "--name", "../up"], 1, ["name '../up'"]),
    (["train", "--registry", "regfile"], 1, ["--registry regfile", "not a directory"]),
    (["train", "--registry", "badreg"], 1, ["badreg/registry.json", "invalid"]),
    # models: bad registry paths
    (["models", "--dir", "regfile", "list"], 1, ["regfile"]),
    (["models", "--dir", "badreg", "list"], 1, ["badreg/registry.json", "invalid"]),
    (["models", "--dir", "regfile/sub", "install-default"], 1, ["regfile/sub"]),
    # argparse's own: unknown command, unknown flag, bad int
    (["nosuch"], ARGPARSE, ["invalid choice: 'nosuch'"]),
    (["replay", "--bogus"], ARGPARSE, ["unrecognized arguments: --bogus"]),
    (["sim", "--port", "x"], ARGPARSE, ["--port", "'x'"]),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(err: str, code: int, want_code: int, fragments: list[str]) -> None:
    """One message line (after argparse's usage lines), naming what was asked."""
    assert "Traceback" not in err, err
    assert code == want_code, err
    lines = err.splitlines()
    message = lines[-1]
    assert message.startswith("bitunix-bot"), err
    assert "error: " in message, err
    if want_code == ARGPARSE:
        assert lines[0].startswith("usage: bitunix-bot"), err
        assert all(line.startswith(" ") for line in lines[1:-1]), err
    else:
        assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(("argv", "want_code", "fragments"), CASES,
                         ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_clear_line(bad_files: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], want_code: int,
                                     fragments: list[str]) -> None:
    if argv[0] == "train" and "--registry" not in argv:
        argv = [*argv, "--registry", str(bad_files / "models")]
    code, out, err = _run(argv, capsys)
    assert_clean(err, code, want_code, fragments)
    if argv[0] == "sim":
        assert out == ""  # refused before serving: no URLs printed
    assert not (bad_files / "models").exists()  # train refused before registering


def _subprocess(argv: list[str], cwd: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "bitunix", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(("argv", "want_code", "fragments"), [
    c for c in CASES if c[0] in (
        ["replay", "--tick-size", "nan"],
        ["replay", "--data", "abc.txt"],
        ["sim", "--data", "missing.bin"],
        ["sim", "--port", "70000"],
        ["train", "--data", "BTCUSDT=truncated.gz"],
        ["models", "--dir", "regfile/sub", "install-default"],
    )
])
def test_no_traceback_reaches_stderr_of_the_process(bad_files: Path, argv: list[str],
                                                    want_code: int,
                                                    fragments: list[str]) -> None:
    proc = _subprocess(argv, bad_files)
    out, err = proc.communicate(timeout=120)
    assert_clean(err.decode(), proc.returncode, want_code, fragments)
    if argv[0] != "replay":  # replay names its file first, then reads it
        assert out == b""


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """``bitunix-bot replay | head -1``: exit 141 (as if killed by SIGPIPE), stderr empty
    (was a BrokenPipeError traceback)."""
    proc = _subprocess(["replay", "--limit", "20000"], tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"bitunix-bot replay:")
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert err == b""
    assert proc.returncode == 141


def test_ctrl_c_is_one_line_and_130(tmp_path: Path) -> None:
    capture = tmp_path / "long.txt.gz"  # the bundled capture three times over: seconds
    data = gzip.decompress(bundled_capture().read_bytes())
    last = int(data.rsplit(b"\n", 2)[-2].split(b" ", 1)[0])
    shifted = [data] + [b"".join(
        b"%d %s\n" % (int(ts) + k * last, rest) for ts, rest in
        (line.split(b" ", 1) for line in data.splitlines())) for k in (1, 2)]
    capture.write_bytes(gzip.compress(b"".join(shifted), compresslevel=1))
    proc = _subprocess(["replay", "--data", str(capture)], tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"bitunix-bot replay:")  # replay under way
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert err == b"bitunix-bot replay: interrupted\n"
    assert proc.returncode == 130


def test_sim_data_bad_past_its_first_event_stops_the_sim(
    bad_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the first event is read before serving (the file may be long); a defect further
    on stops the sim when the replay reaches it (not at --duration), one line, exit 1."""
    started = time.monotonic()
    code, out, err = _run(["sim", "--data", "truncated.gz", "--speed", "1000",
                           "--duration", "120"], capsys)
    assert time.monotonic() - started < 60  # stopped by the error, not by --duration
    assert out.startswith("rest_url http://127.0.0.1:")
    assert_clean(err, code, 1, ["truncated.gz:", "end early"])


def test_sim_on_a_port_in_use_is_one_line(bad_files: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = _run(["sim", "--data", "synthetic", "--port", str(port)], capsys)
    assert out == ""
    assert_clean(err, code, 1, [f"--port {port}", f"127.0.0.1:{port}"])


def test_replay_and_train_read_recordings_too(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A recording of Bitunix pushes given to replay was read as a capture: 0 events."""
    from bitunix.data.recording import RecordingWriter

    path = tmp_path / "rec.txt"
    with RecordingWriter(path) as w:
        for i in range(1, 200):
            w.write(i * 10**8, {"ch": "trade", "symbol": "ETHUSDT", "ts": i, "data": [
                {"p": f"{2500 + i % 5}.5", "v": "0.1", "s": "buy", "t": "x"}]})
    assert main(["replay", "--data", str(path)]) == 0
    assert "events: 199 (199 trades, 0 books)" in capsys.readouterr().out
    code, _, err = _run(["replay", "--data", str(path), "--symbol", "btcusdt"], capsys)
    assert_clean(err, code, 1, ["--symbol BTCUSDT", "its symbols: ETHUSDT"])
