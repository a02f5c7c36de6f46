"""``bitunix-bot run`` starts the HTTP server from ``[http]``, prints where, and refuses a
bad ``[http]`` value in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitunix.cli import main
from tests.app.conftest import BUSY, MODELS, capture_slice  # noqa: F401 (a fixture)


def paper_run(tmp_path: Path, data: Path, http: str) -> int:
    """A short paper run with ``http`` as its ``[http]`` table; the exit code."""
    config = tmp_path / "bot.toml"
    config.write_text(f"[http]\n{http}\n" + BUSY)
    return main(["run", "--config", str(config), "--data", str(data), "--speed", "30",
                 "--duration", "30", "--store", str(tmp_path / "s.sqlite"),
                 "--models-dir", str(MODELS)])


def test_run_serves_the_dashboard_and_prints_its_url(
    tmp_path: Path, capture_slice: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    code = paper_run(tmp_path, capture_slice, "port = 0")
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("dashboard: ")]
    assert len(lines) == 1
    assert lines[0].startswith("dashboard: http://127.0.0.1:")
    assert "/metrics" in lines[0]
    assert "dashboard: http://127.0.0.1:0/" not in out  # the port it got, not 0


def test_run_without_the_server(tmp_path: Path, capture_slice: Path,  # noqa: F811
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = paper_run(tmp_path, capture_slice, "enabled = false")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "dashboard:" not in out


@pytest.mark.parametrize(("toml", "message"), [
    ("port = 70000", "key http.port must be an integer >= 0 and <= 65535, was 70000"),
    ("host = \"0.0.0.0\"", "key http.host: '0.0.0.0' is not a loopback address"),
])
def test_a_bad_http_value_is_one_line(tmp_path: Path, toml: str, message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f"[http]\n{toml}\n")
    assert main(["run", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err
    assert f"config file {config}" in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in captured.out + captured.err
