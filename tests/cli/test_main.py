"""The bitunix-bot entry point and the run command."""

from __future__ import annotations

import argparse
import logging
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


def test_run_against_the_simulator(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    models = Path(__file__).resolve().parents[2] / "models"
    assert cli.main(["run", "--data", "synthetic:7", "--speed", "50", "--duration", "4",
                     "--models-dir", str(models), "--store", str(tmp_path / "s.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "mode paper (orders go to the built-in simulator)" in out
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
    # the paper store is the only thing left behind (the temporary registry is gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bitunix-paper.sqlite"]


BUILD_PARSER = cli.build_parser


def _with_command(monkeypatch: pytest.MonkeyPatch, func: Any, *args: str) -> None:
    """Make ``boom`` a command running ``func`` (with ``args`` as its options)."""

    def parser_with() -> argparse.ArgumentParser:
        parser = BUILD_PARSER()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        boom = sub.add_parser("boom")
        for name in args:
            boom.add_argument(name)
        boom.set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", parser_with)


def test_bitunix_errors_become_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_args: argparse.Namespace) -> int:
        raise BitunixError("bad things,\n  clearly said")

    _with_command(monkeypatch, fail)
    assert cli.main(["boom"]) == 1
    assert capsys.readouterr().err == "bitunix-bot boom: error: bad things, clearly said\n"


def test_ctrl_c_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(_args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    _with_command(monkeypatch, interrupt)
    assert cli.main(["boom"]) == 130
    assert capsys.readouterr().err == "bitunix-bot boom: interrupted\n"


def test_any_other_exception_is_an_internal_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(_args: argparse.Namespace) -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    _with_command(monkeypatch, crash)
    assert cli.main(["boom"]) == 1
    assert capsys.readouterr().err == (
        "bitunix-bot boom: internal error: KeyError: 'missing' "
        "(run with --log-level DEBUG for the traceback)\n")


def test_the_traceback_of_an_internal_error_is_logged_at_debug(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(_args: argparse.Namespace) -> int:
        raise ZeroDivisionError("deep inside")

    _with_command(monkeypatch, crash)
    with caplog.at_level(logging.DEBUG, logger="bitunix.cli"):
        assert cli.main(["--log-level", "DEBUG", "boom"]) == 1
    [record] = [r for r in caplog.records if r.name == "bitunix.cli"]
    assert record.levelno == logging.DEBUG
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ZeroDivisionError)


def test_secrets_given_as_options_never_appear_in_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def leak(args: argparse.Namespace) -> int:
        raise BitunixError(f"signature mismatch for secret {args.api_secret}")

    def leak_internal(args: argparse.Namespace) -> int:
        raise RuntimeError(f"bad key {args.api_secret!r}")

    for func in (leak, leak_internal):
        _with_command(monkeypatch, func, "--api-secret")
        assert cli.main(["boom", "--api-secret", "s3cr3t-value"]) == 1
        err = capsys.readouterr().err
        assert "s3cr3t-value" not in err
        assert "***" in err


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A BrokenPipeError from a socket is an error like any other; only a closed stdout
    ends quietly (tested with a real pipe in test_bad_input.py)."""
    def socket_gone(_args: argparse.Namespace) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    _with_command(monkeypatch, socket_gone)
    assert cli.main(["boom"]) == 1
    assert "internal error: BrokenPipeError" in capsys.readouterr().err


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
