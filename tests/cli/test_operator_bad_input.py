"""The operator commands on bad input and on a store with no bot: one line naming what is
wrong, a non-zero exit, the store unchanged."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitunix import cli
from bitunix.control import BotInfo, encode
from bitunix.risk.kill import decode_kill_request
from bitunix.store import Lease, SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A bitunix store that a bot used and left (its record says when it stopped)."""
    path = tmp_path / "state.sqlite"
    info = BotInfo(owner="h:1:2", pid=1, mode="paper", venue="sim",
                   rest_url="http://127.0.0.1:9", ws_public_url="", ws_private_url="",
                   symbols=["BTCUSDT"], started_ns=1, lease_ttl_s=10.0,
                   stopped_ns=1_796_000_000 * 10**9)
    with SqliteStore(path) as s:
        s.set_state("bot.info", encode(info))
    return path


def _dump(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for table in ("state", "audit", "orders", "lease"):
            rows += [(table, *r) for r in conn.execute(f"SELECT * FROM {table}")]
        return rows
    finally:
        conn.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 + sum(line.startswith(("usage:", "  "))
                                 for line in lines[:-1]), err
    assert "Traceback" not in err
    return lines[-1]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["order", "place", "BTCUSDT", "HOLD", "0.1"], "argument SIDE: 'HOLD' is not BUY or SELL"),
    (["order", "place", "BTCUSDT", "BUY", "-1"], "argument QTY: '-1' is not an amount"),
    (["order", "place", "BTCUSDT", "BUY", "0"], "argument QTY: '0' is not a number > 0"),
    (["order", "place", "BTCUSDT", "BUY", "abc"], "argument QTY: 'abc' is not a decimal"),
    (["order", "place", "BTCUSDT", "BUY", "1", "--price", "nan"], "argument --price: 'nan'"),
    (["order", "place", "BTCUSDT", "BUY"], "the following arguments are required: QTY"),
    (["order"], "the following arguments are required: ACTION"),
    (["pause", "--timeout", "0"], "argument --timeout: '0' is not a finite number > 0"),
    (["flatten", "--timeout", "inf"], "argument --timeout: 'inf' is not a finite number"),
    (["orders", "--all", "--limit", "0"], "argument --limit: '0' is not an integer >= 1"),
    (["config"], "the following arguments are required: ACTION"),
    (["status", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_flags_and_values_are_argparse_errors(capsys: pytest.CaptureFixture[str],
                                                   store: Path, argv: list[str],
                                                   fragment: str) -> None:
    before = _dump(store)
    extra = [] if argv in (["order"], ["config"]) else ["--store", str(store)]
    code, out, err = _run(capsys, *argv, *extra)
    assert code == 2
    assert out == ""
    assert fragment in _one_line(err)
    assert _dump(store) == before


@pytest.mark.parametrize("argv", [
    ["pause"], ["resume"], ["order", "place", "BTCUSDT", "BUY", "0.001"],
    ["order", "place", "BTCUSDT", "BUY", "0.001", "--force"], ["order", "cancel", "bx-1"],
])
def test_commands_that_need_the_bot_refuse_on_a_stopped_one(
        capsys: pytest.CaptureFixture[str], store: Path, argv: list[str]) -> None:
    before = _dump(store)
    code, out, err = _run(capsys, *argv, "--store", str(store))
    assert code == 1
    assert out == ""
    line = _one_line(err)
    assert line == (f"bitunix-bot {argv[0]}: error: no bot is running on store {store} "
                    "(lease free since 2026-11-30 00:53:20 UTC): nothing changed")
    assert _dump(store) == before


def test_a_lapsed_lease_is_a_stopped_bot(capsys: pytest.CaptureFixture[str],
                                         store: Path) -> None:
    lease = Lease(store, "crashed", ttl_s=0.01, now_ns=time.time_ns)
    assert lease.try_acquire()
    lease.close()
    time.sleep(0.05)
    code, _, err = _run(capsys, "pause", "--store", str(store))
    assert code == 1
    assert "(lease lapsed since " in err
    code, out, _ = _run(capsys, "status", "--store", str(store), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["running"] is False
    assert doc["lease"]["owner"] == "crashed"


def test_kill_on_a_stopped_bot_is_recorded_for_its_next_start(
        capsys: pytest.CaptureFixture[str], store: Path) -> None:
    code, out, err = _run(capsys, "kill", "--flatten", "--reason", "night",
                          "--store", str(store))
    assert (code, err) == (0, "")
    assert out.strip().endswith("kill switch with a flatten recorded; the next start "
                                "applies it")
    with SqliteStore(store) as s:
        text = s.state("kill_request")
    assert text is not None
    request = decode_kill_request(text)
    assert request.engage
    assert request.flatten
    assert request.reason == "night"
    code, out, _ = _run(capsys, "kill", "--release", "--store", str(store))
    assert code == 0
    assert "release recorded" in out
    before = _dump(store)
    code, _, err = _run(capsys, "kill", "--release", "--flatten", "--store", str(store))
    assert code == 1
    assert _one_line(err) == "bitunix-bot kill: error: --release and --flatten: choose one"
    assert _dump(store) == before


@pytest.mark.parametrize("command", ["status", "balance", "positions", "orders", "pause",
                                     "kill", "flatten", "cancel-all"])
def test_a_store_that_does_not_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     command: str) -> None:
    missing = tmp_path / "nope.sqlite"
    code, out, err = _run(capsys, command, "--store", str(missing))
    assert code == 1
    assert out == ""
    assert _one_line(err) == f"bitunix-bot {command}: error: store {missing}: does not exist"
    assert not missing.exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    code, _, err = _run(capsys, command, "--store", str(junk))
    assert code == 1
    assert f"store {junk}: not" in _one_line(err)


def test_reads_of_a_stopped_paper_bot_say_its_venue_is_gone(
        capsys: pytest.CaptureFixture[str], store: Path) -> None:
    code, out, err = _run(capsys, "status", "--store", str(store))
    assert code == 0
    assert out.startswith(f"bot: stopped; no bot is running on store {store}")
    assert "venue: the paper bot's built-in simulator stopped with the bot" in out
    assert err == ""
    for command in ("balance", "positions", "orders"):
        code, out, err = _run(capsys, command, "--store", str(store), "--json")
        assert code == 1
        doc = json.loads(out)
        assert doc["running"] is False
        assert "stopped with the bot" in doc["venue"]["error"]
        assert _one_line(err).startswith("venue: the paper bot's built-in simulator")
    code, _, err = _run(capsys, "flatten", "--store", str(store))
    assert code == 1
    assert "stopped with the bot" in _one_line(err)


def test_a_store_without_a_bot_record_needs_a_venue(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    SqliteStore(path).close()
    code, out, _ = _run(capsys, "status", "--store", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["bot"] is None
    assert doc["running"] is False
    assert doc["venue"]["error"].startswith("no venue known")
    code, out, err = _run(capsys, "positions", "--store", str(path))
    assert code == 1
    assert "bot (stopped): 0 open positions" in out
    assert _one_line(err).startswith("venue: no venue known: store ")
    code, _, err = _run(capsys, "balance", "--store", str(path), "--rest-url",
                        "http://127.0.0.1:9")
    assert code == 1
    assert "BITUNIX_API_KEY and BITUNIX_API_SECRET" in _one_line(err)


def test_config_check(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.toml"
    good.write_text('symbols = ["BTCUSDT", "ETHUSDT"]\n')
    code, out, err = _run(capsys, "config", "check", str(good))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"config {good}: OK",
        "mode paper (orders go to the built-in simulator); venue sim (no keys); symbols "
        "BTCUSDT,ETHUSDT; store bitunix-paper.sqlite"]
    live = tmp_path / "live.toml"
    live.write_text('[venue]\nkind = "bitunix"\n')
    monkeypatch.setenv("BITUNIX_API_KEY", "k-123456")
    monkeypatch.setenv("BITUNIX_API_SECRET", "s-123456")
    code, out, _ = _run(capsys, "config", "check", str(live))
    assert code == 0
    assert "mode dry-run" in out
    assert "venue bitunix https://" in out
    assert "(keys set)" in out
    assert "s-123456" not in out
    for text, fragment in [('[run]\nduration_s = -1\n', "key run.duration_s"),
                           ('bogus = 1\n', "bogus"),
                           ('[store]\npath = "/nope/dir/s.sqlite"\n', "/nope/dir"),
                           # a channel without its secret, as `run` refuses it
                           ('[notify.telegram]\nenabled = true\nchat_id = "1"\n',
                            "notify.telegram")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        code, out, err = _run(capsys, "config", "check", str(bad))
        assert code == 1
        assert out == ""
        assert fragment in _one_line(err)
    code, _, err = _run(capsys, "config", "check", str(tmp_path / "missing.toml"))
    assert code == 1
    assert _one_line(err).endswith("missing.toml: does not exist")


def test_python_dash_m_is_the_console_script() -> None:
    script = Path(sys.executable).with_name("bitunix-bot")
    by_module = subprocess.run([sys.executable, "-m", "bitunix", "--version"],
                               capture_output=True, check=False, timeout=60)
    by_script = subprocess.run([str(script), "--version"], capture_output=True, check=False,
                               timeout=60)
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout
    assert by_module.stdout.startswith(b"bitunix-bot ")
    helped = subprocess.run([sys.executable, "-m", "bitunix", "order", "place", "--help"],
                            capture_output=True, check=False, timeout=60)
    assert helped.returncode == 0
    assert b"--force" in helped.stdout
    assert b"usage: bitunix-bot order place" in helped.stdout


def test_a_bot_that_does_not_answer(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    """A live lease whose holder never takes requests (hung): the request is withdrawn
    and nothing changed; a kill is still kept in the store for the bot's 1 s poll."""
    lease = Lease(store, "hung", ttl_s=60, now_ns=time.time_ns)
    assert lease.try_acquire()
    try:
        before = _dump(store)
        code, out, err = _run(capsys, "pause", "--timeout", "0.3", "--store", str(store))
        assert code == 1
        assert out == ""
        assert _one_line(err) == (f"bitunix-bot pause: error: the bot on store {store} did "
                                  "not take the request within 0.3 s: withdrawn, nothing "
                                  "changed")
        assert _dump(store) == before
        code, out, err = _run(capsys, "kill", "--timeout", "0.3", "--reason", "hang",
                              "--store", str(store))
        assert code == 1
        assert "the kill switch is recorded in the store instead" in _one_line(err)
        with SqliteStore(store) as s:
            text = s.state("kill_request")
        assert text is not None
        assert decode_kill_request(text).reason == "hang"
    finally:
        lease.close()
