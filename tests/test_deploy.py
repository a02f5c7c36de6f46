"""deploy/: the systemd unit is valid and safe, the example config loads and stays dry-run,
the Dockerfile passes hadolint."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from bitunix.config import BotConfig, Mode, load_config, resolve_mode

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "bitunix-bot.service"
CONFIG = ROOT / "deploy" / "bitunix-bot.toml"
BIN = Path(sys.executable).parent


def _unit(text: str) -> configparser.ConfigParser:
    # systemd allows a key more than once (SystemCallFilter=); the last one is enough here.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_the_unit_runs_the_bot_as_a_dedicated_user_and_stops_it_gently() -> None:
    unit = _unit(UNIT.read_text())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "bitunix-bot"
    assert argv[1:3] == ["run", "--config"]
    assert argv[3] == "/etc/bitunix-bot/bitunix-bot.toml"
    assert service["User"] not in ("", "root", "0")
    assert service["EnvironmentFile"] == "/etc/bitunix-bot/bitunix-bot.env"
    assert service["WorkingDirectory"] == "/var/lib/bitunix-bot"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    # `bitunix-bot run` exits 130 after a clean SIGTERM shutdown: not a failure.
    assert "130" in service["SuccessExitStatus"].split()
    # The flatten on exit may take 30 s (ExecutionEngine.flatten's timeout), then a
    # reconcile and the last flush: the stop timeout leaves room for all of it.
    assert int(service["TimeoutStopSec"]) >= 60
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    writable = service["ReadWritePaths"].split()
    assert service["WorkingDirectory"] in writable
    assert str(Path(load_config(CONFIG, {}).store.path).parent) in writable
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def _verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` on ``unit_text``, its ExecStart pointed at this venv's
    ``bitunix-bot`` (verify insists that the binary exists)."""
    path = tmp_path / "bitunix-bot.service"
    path.write_text(unit_text.replace("/opt/bitunix-bot/venv/bin/bitunix-bot",
                                      str(BIN / "bitunix-bot")))
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)


# systemd-analyze is part of systemd: on this project's machines (Debian) it is there; a
# machine without systemd has no use for the unit, and the test above still checks it.
if shutil.which("systemd-analyze") is not None:

    def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(
            tmp_path: Path) -> None:
        result = _verify(UNIT.read_text(), tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == ""

    def test_systemd_analyze_verify_reports_a_broken_unit(tmp_path: Path) -> None:
        # verify only warns about a bad value and still exits 0: the empty stderr above is
        # what makes the check; this shows that it can fail.
        broken = UNIT.read_text().replace("KillSignal=SIGTERM", "KillSignal=SIGTERMINATE")
        result = _verify(broken, tmp_path)
        assert "SIGTERMINATE" in result.stderr


def test_the_example_config_is_live_ready_but_stays_in_dry_run() -> None:
    config = load_config(CONFIG, {})
    assert config.dry_run is True
    assert config.venue.kind == "bitunix"
    assert config.venue.rest_url.startswith("https://")
    # Even with the live switch in the environment a dry_run = true config sends nothing.
    mode, why = resolve_mode(config, {"FORCE_LIVE_TRADING": "true"})
    assert mode is Mode.DRY_RUN
    assert "dry_run = true" in why
    # Only dry_run stands between this file and live orders.
    live = load_config(CONFIG, {"BITUNIX_CFG_DRY_RUN": "false"})
    assert resolve_mode(live, {"FORCE_LIVE_TRADING": "true"})[0] is Mode.LIVE
    # A service runs until it is stopped, and flattens on the way out.
    assert config.run.duration_s == 0
    assert config.run.idle_stop_s == 0
    assert config.run.flatten_on_exit is True
    assert config.http.host == "127.0.0.1"
    # No looser than the defaults.
    default = BotConfig()
    assert config.risk.limits.max_daily_loss_pct <= default.risk.limits.max_daily_loss_pct
    assert config.risk.sizing.base_size_pct <= default.risk.sizing.base_size_pct
    assert config.risk.limits.max_leverage <= default.risk.limits.max_leverage


def test_the_example_config_holds_no_secret() -> None:
    text = CONFIG.read_text().lower()
    for word in ("api_key =", "api_secret =", "secret_key ="):
        assert word not in text


def test_hadolint_passes_the_dockerfile_and_catches_a_bad_one(tmp_path: Path) -> None:
    hadolint = BIN / "hadolint"
    ok = subprocess.run([str(hadolint), "Dockerfile"], cwd=ROOT, capture_output=True,
                        text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in text
    assert "HEALTHCHECK" in text
    assert text.count("FROM ") == 2
    # The same linter, settings and file with an unpinned runtime base: hadolint must
    # object (the check above is not vacuous).
    bad = tmp_path / "Dockerfile"
    bad.write_text(text.replace("ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm",
                                "ARG PYTHON_IMAGE=python")
                   .replace("FROM ${PYTHON_IMAGE}\n", "FROM python:latest\n"))
    (tmp_path / ".hadolint.yaml").write_text((ROOT / ".hadolint.yaml").read_text())
    failed = subprocess.run([str(hadolint), "Dockerfile"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode != 0
    assert "DL3007" in failed.stdout  # "latest" is not a pinned version


def test_config_check_accepts_the_example_config_in_dry_run(tmp_path: Path) -> None:
    # As an operator runs it before starting the service (deploy/README.md), with the
    # live switch set and the store moved to a directory that exists here.
    env = {"PATH": str(BIN), "HOME": str(tmp_path), "FORCE_LIVE_TRADING": "true",
           "BITUNIX_CFG_STORE__PATH": str(tmp_path / "bitunix-state.sqlite")}
    result = subprocess.run([str(BIN / "bitunix-bot"), "config", "check", str(CONFIG)],
                            env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "mode dry-run (dry_run = true" in result.stdout
    assert "venue bitunix https://fapi.bitunix.com" in result.stdout
    assert not (tmp_path / "bitunix-state.sqlite").exists()  # nothing written
