"""The bitunix-bot entry point and the run command."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bitunix import cli
from bitunix.core.errors import BitunixError


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert "bitunix-bot 0.1.0" in capsys.readouterr().out


def test_replay_summarises_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--log-level", "INFO", "replay", "--limit", "3000"]) == 0
    out = capsys.readouterr().out
    assert "bitunix-bot replay:" in out
    assert "events: 3000" in out
    assert "vwap_z" in out


def test_run_against_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    models = Path(__file__).resolve().parents[2] / "models"
    assert cli.main(["run", "--data", "synthetic:7", "--speed", "50", "--duration", "4",
                     "--models-dir", str(models)]) == 0
    out = capsys.readouterr().out
    assert "paper mode against the built-in simulator" in out
    assert "no orders are sent" in out
    assert "model: ovirx-gbm@" in out
    assert " 0 reconnects" in out


def test_run_away_from_a_checkout_serves_the_shipped_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./models here
    assert cli.main(["run", "--data", "synthetic:3", "--speed", "50", "--duration", "3"]) == 0
    out = capsys.readouterr().out
    assert "no ./models registry: serving ovirx-gbm@" in out
    assert "model: ovirx-gbm@" in out
    assert "rule fallback" not in out
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_bitunix_errors_become_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_args: argparse.Namespace) -> int:
        raise BitunixError("bad things, clearly said")

    def interrupt(_args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    original = cli.build_parser

    def parser_with(func: Any) -> argparse.ArgumentParser:
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.add_parser("boom").set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", lambda: parser_with(fail))
    assert cli.main(["boom"]) == 1
    assert "bitunix-bot boom: error: bad things, clearly said" in capsys.readouterr().err
    monkeypatch.setattr(cli, "build_parser", lambda: parser_with(interrupt))
    assert cli.main(["boom"]) == 130


@pytest.mark.parametrize("command", ["run", "replay"])
def test_missing_capture_is_a_clear_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--data", "/nonexistent/capture.txt"]) == 1
    assert "no such market-data file: /nonexistent/capture.txt" in capsys.readouterr().err


def test_console_script_module_entry() -> None:
    out = subprocess.run([sys.executable, "-m", "bitunix", "--version"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert "bitunix-bot" in out.stdout
