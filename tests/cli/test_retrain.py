"""``bitunix-bot retrain``: a refresh on a recording, the live comparison saved by a paper
bot and judged, ``--schedule --max-runs``, the newest parts, and bad flags in one line."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from bitunix.app.bot import BotRun
from bitunix.cli import main
from bitunix.cli.retrain import _select, duration_s
from bitunix.config import Mode
from bitunix.data import bundled_capture
from bitunix.ml.manifest import MANIFEST_NAME, load_manifest, logistic_sha256, save_manifest
from bitunix.ml.refresh import (
    AUDIT_ACTION,
    RefreshRule,
    judge,
    read_figures,
    read_pending,
    refresh_lock,
)
from bitunix.ml.registry import ModelRegistry
from bitunix.ml.shadow import SHADOW_STATE_KEY
from bitunix.store import SqliteStore
from tests.app.conftest import MODELS, busy_config

NS = 1_000_000_000


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A registry with the shipped models (ovirx-gbm active), a directory per symbol holding
    its bundled capture (BTCUSDT alone has too few positives), and an empty bot store."""
    models = tmp_path / "models"
    shutil.copytree(MODELS, models)
    out = {"models": models}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        rec = tmp_path / f"rec-{symbol}"
        rec.mkdir()
        shutil.copyfile(bundled_capture(symbol), rec / bundled_capture(symbol).name)
        out[symbol] = rec
    store = tmp_path / "state.sqlite"
    with SqliteStore(store):
        pass
    return {**out, "store": store}


def argv(w: dict[str, Path], *extra: str) -> list[str]:
    return ["retrain", "--data", f"BTCUSDT={w['BTCUSDT']}", "--data",
            f"ETHUSDT={w['ETHUSDT']}", "--trees", "5", "--store",
            str(w["store"]), "--registry", str(w["models"]), "--by", "tester", *extra]


def statuses(models: Path) -> dict[str, str]:
    return {f"{e.name}@{e.version}": e.status for e in ModelRegistry(models).entries()}


def audit(store: Path) -> list[tuple[str, str, str]]:
    with SqliteStore(store) as s:
        return [(a.reason, a.model, a.detail["by"]) for a in s.audit(AUDIT_ACTION)]


def test_a_refresh_trains_on_the_recording_and_registers_a_shadow(
        world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv(world, "--tick", "BTCUSDT=0.1")) == 0
    out = capsys.readouterr().out
    st = statuses(world["models"])
    new = [k for k, v in st.items() if v == "shadow"]
    assert len(new) == 1
    assert new[0].startswith("ovirx-gbm@r")  # the active model's name, a dated version
    assert st["ovirx-gbm@b156c2cc3e33"] == "active"
    assert f"{new[0]} is the shadow" in out
    assert "BTCUSDT: " in out
    assert "binance-usdm-btcusdt-2024-08-08.txt.gz" in out
    assert audit(world["store"]) == [("shadow", new[0], "tester")]
    pending = read_pending(world["models"])
    assert pending is not None
    assert pending.model == new[0]


def confident_champion(models: Path, tmp_path: Path) -> str:
    """The shipped logistic model with a bias that makes it sure of every entry (p about
    0.99: Kelly sizing trades it), registered and made active."""
    registry = ModelRegistry(models)
    logit = registry.get("ovirx-logit")
    manifest = load_manifest(registry.model_dir(logit) / MANIFEST_NAME)
    assert manifest.logistic is not None
    params = msgspec.structs.replace(manifest.logistic, bias=5.0)
    sure = msgspec.structs.replace(manifest, name="sure", version="1", logistic=params,
                                   sha256=logistic_sha256(params))
    out = tmp_path / "sure"
    out.mkdir()
    save_manifest(sure, out / MANIFEST_NAME)
    registry.register(out)
    registry.promote("sure", "1")
    return "sure@1"


async def test_a_paper_bot_scores_the_shadow_and_the_next_refresh_judges_it(
        world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    champion = confident_champion(world["models"], tmp_path)
    assert await asyncio.to_thread(main, argv(world)) == 0
    shadow = read_pending(world["models"]).model  # type: ignore[union-attr]
    assert shadow.startswith("sure@r")
    # A bot on the registry: OVIR-X's guards wide open, a 3 s hold, so the capture gives
    # closed trades whose outcomes both models are credited with.
    cfg = busy_config(tmp_path, bundled_capture("BTCUSDT"), **{
        "sim.speed": 60.0, "run.duration_s": 60.0,
        "store.path": str(world["store"]), "signal.models_dir": str(world["models"]),
        "signal.strategies": [{"kind": "ovirx", "params": {
            "prob_threshold": 0.5, "entry_z": 1.0, "max_entry_z": 50.0, "min_edge_bps": 0.0,
            "min_std_bps": 0.0, "cooldown_s": 0.5, "max_spread_ticks": 50.0,
            "max_tick_ratio": 50.0, "min_depth_lean": -50.0,
            "exits": {"max_hold_s": 3.0}}}]})
    bot = BotRun(cfg, Mode.PAPER, store_path=world["store"], secrets=None,
                 emit=lambda line: None)
    s = await asyncio.wait_for(bot.run(), 120)
    assert s.failures == []
    with SqliteStore(world["store"]) as store:
        figures = read_figures(store)
        assert store.state(SHADOW_STATE_KEY)
    assert figures is not None
    assert (figures.champion, figures.challenger) == (champion, shadow)
    assert figures.scored > 0
    assert figures.outcomes > 0
    assert figures.champion_brier is not None
    capsys.readouterr()

    args = argv(world, "--compare-for", "1s", "--min-decisions", "1")
    assert await asyncio.to_thread(main, args) == 0
    out = capsys.readouterr().out
    want = judge(figures, RefreshRule(min_decisions=1, compare_s=1.0), time.time_ns())
    assert want.action in {"promote", "discard"}
    assert f"{shadow}: {want.action}: " in out
    st = statuses(world["models"])
    if want.action == "promote":
        assert (st[shadow], st[champion]) == ("active", "retired")
    else:
        assert (st[shadow], st[champion]) == ("retired", "active")
    trail = audit(world["store"])
    assert trail[:2] == [("shadow", shadow, "tester"), (want.action, shadow, "tester")]
    assert trail[2][0] == "shadow"  # and the next model is under comparison
    with SqliteStore(world["store"]) as store:
        entry = store.audit(AUDIT_ACTION)[1]
    assert entry.detail["live.outcomes"] == str(figures.outcomes)


def test_schedule_runs_twice_then_stops(
        world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert main(argv(world, "--schedule", "--every", "0.5s", "--max-runs", "2")) == 0
    assert time.monotonic() - started >= 0.5
    out = capsys.readouterr().out
    assert "refresh 1 of 2" in out
    assert "refresh 2 of 2" in out
    # The first trains a shadow; the second waits for the bot's live figures of it.
    assert "is the shadow" in out
    assert "wait: no live figures for the shadow yet" in out
    assert list(statuses(world["models"]).values()).count("shadow") == 1


def test_schedule_reports_a_failed_refresh_and_goes_on(
        world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with refresh_lock(world["models"]):
        code = main(argv(world, "--schedule", "--every", "0.1s", "--max-runs", "2"))
    assert code == 1
    err = capsys.readouterr().err
    assert "refresh 1 failed: registry" in err
    assert "refresh 2 failed: registry" in err
    assert "is locked by another refresh (pid" in err
    assert "Traceback" not in err
    assert audit(world["store"]) == []


def test_one_refresh_on_a_locked_registry_is_one_line(
        world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with refresh_lock(world["models"]):
        assert main(argv(world)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "is locked by another refresh" in err[0]


def part(directory: Path, seq: int, start_s: int) -> Path:
    stamp = datetime.fromtimestamp(start_s, UTC).strftime("%Y%m%dT%H%M%SZ")
    p = directory / f"part-{seq:06d}-{stamp}.txt.gz"
    p.write_bytes(b"")
    return p


def test_newest_parts_by_count_or_by_the_start_in_their_name(tmp_path: Path) -> None:
    now_s = 1_800_000_000
    parts = [part(tmp_path, i, now_s - (5 - i) * 3600) for i in range(5)]  # -5 h .. -1 h
    assert _select(parts, None, None, now_s * NS) == parts
    assert _select(parts, 2, None, now_s * NS) == parts[3:]
    assert _select(parts, None, 2.5, now_s * NS) == parts[3:]
    assert _select(parts, 1, 2.5, now_s * NS) == parts[4:]
    other = tmp_path / "capture.txt.gz"
    other.write_bytes(b"")  # not a part: its modification time
    assert _select([other], None, 1.0, time.time_ns()) == [other]


def test_who_defaults_to_user_at_host() -> None:
    import argparse
    import getpass
    import socket

    from bitunix.cli.retrain import _who

    assert _who(argparse.Namespace(by=None)) == f"{getpass.getuser()}@{socket.gethostname()}"
    assert _who(argparse.Namespace(by="ops")) == "ops"


def test_durations() -> None:
    assert [duration_s(t) for t in ("90", "90s", "30m", "24h", "7d", "0.5s")] == [
        90.0, 90.0, 1800.0, 86400.0, 604800.0, 0.5]


@pytest.mark.parametrize(("extra", "code", "words"), [
    (["--every", "1h"], 1, "--every and --max-runs go with --schedule"),
    (["--max-runs", "2"], 1, "--every and --max-runs go with --schedule"),
    (["--schedule", "--every", "0"], 2, "argument --every: '0' is not a duration > 0"),
    (["--schedule", "--every", "soon"], 2, "'soon' is not a duration > 0"),
    (["--min-decisions", "0"], 2, "argument --min-decisions: '0' is not an integer >= 1"),
    (["--max-brier-worse", "-1"], 2, "'-1' is not a finite number >= 0"),
    (["--name", "../x"], 1, "model name '../x' is not a plain name"),
    (["--last-hours", "1"], 1, "no recordings within the last 1 hours (1 older files)"),
])
def test_bad_flags_are_one_line(world: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                extra: list[str], code: int, words: str) -> None:
    if "--last-hours" in extra:
        old = world["BTCUSDT"] / "part-000001-20240808T000000Z.txt.gz"
        next(world["BTCUSDT"].iterdir()).rename(old)
    before = (world["models"] / "registry.json").read_bytes()
    if code == 2:
        with pytest.raises(SystemExit) as exc:
            main(argv(world, *extra))
        assert exc.value.code == 2
    else:
        assert main(argv(world, *extra)) == 1
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    assert (world["models"] / "registry.json").read_bytes() == before
    assert audit(world["store"]) == []


@pytest.mark.parametrize(("data", "words"), [
    (None, "--data SYMBOL=DIR is required"),
    ("BTCUSDT", "--data 'BTCUSDT': expected SYMBOL=DIR"),
    ("BTCUSDT={missing}", "no recordings: "),
    ("BTCUSDT={empty}", "no recordings: "),
])
def test_missing_recordings_are_one_line(world: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         data: str | None, words: str) -> None:
    (tmp_path / "empty").mkdir()
    args = ["retrain", "--store", str(world["store"]), "--registry", str(world["models"])]
    if data is not None:
        args += ["--data", data.format(missing=tmp_path / "nope", empty=tmp_path / "empty")]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert words in err[0]


def test_a_missing_store_is_one_line(world: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = argv(world)
    args[args.index("--store") + 1] = str(tmp_path / "nope.sqlite")
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "nope.sqlite" in err[0]


def test_too_few_samples_to_train_is_one_line_and_changes_nothing(
        world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    small = tmp_path / "small"
    small.mkdir()
    with gzip.open(bundled_capture("BTCUSDT"), "rb") as src, \
            gzip.open(small / "tiny.txt.gz", "wb") as dst:
        for i, line in enumerate(src):
            if i == 200:
                break
            dst.write(line)
    before = (world["models"] / "registry.json").read_bytes()
    args = argv(world)
    args[args.index("--data") + 1] = f"BTCUSDT={small}"
    args[args.index("--data") + 2:args.index("--data") + 4] = []  # BTCUSDT alone
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "need at least 10 of each class" in err[0]
    assert (world["models"] / "registry.json").read_bytes() == before
    assert read_pending(world["models"]) is None


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_timer_units_run_a_valid_retrain_once_a_day() -> None:
    import configparser
    import shlex

    from bitunix.cli import build_parser

    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.read_string((DEPLOY / "bitunix-bot-retrain.service").read_text())
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] == "bitunix"
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[0] == "/opt/bitunix-bot/venv/bin/bitunix-bot"
    args = build_parser().parse_args(command[1:])  # every flag is one retrain takes
    assert args.func.__module__ == "bitunix.cli.retrain"
    assert not args.schedule  # the timer schedules it
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read_string((DEPLOY / "bitunix-bot-retrain.timer").read_text())
    assert timer["Timer"]["Unit"] == "bitunix-bot-retrain.service"
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:30:00 UTC"


# As in tests/test_deploy.py: systemd-analyze comes with systemd (Debian here); a machine
# without it has no use for the units, and the test above still checks them.
if shutil.which("systemd-analyze") is not None:

    def test_systemd_analyze_verify_accepts_the_units_and_catches_a_bad_one(
            tmp_path: Path) -> None:
        import subprocess
        import sys

        bot = str(Path(sys.executable).with_name("bitunix-bot"))

        def verify(service_text: str) -> subprocess.CompletedProcess[str]:
            (tmp_path / "bitunix-bot-retrain.service").write_text(
                service_text.replace("/opt/bitunix-bot/venv/bin/bitunix-bot", bot))
            shutil.copyfile(DEPLOY / "bitunix-bot-retrain.timer",
                            tmp_path / "bitunix-bot-retrain.timer")
            return subprocess.run(
                ["systemd-analyze", "verify", str(tmp_path / "bitunix-bot-retrain.service"),
                 str(tmp_path / "bitunix-bot-retrain.timer")],
                capture_output=True, text=True, timeout=60, check=False)

        text = (DEPLOY / "bitunix-bot-retrain.service").read_text()
        result = verify(text)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        broken = verify(text.replace("Type=oneshot", "Type=oneshots"))
        assert "oneshots" in broken.stderr
