"""A DEBUG paper run in its own process: request lines logged, no secret anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bitunix.app.bot import SIM_API_KEY, SIM_API_SECRET

SRC = str(Path(__file__).resolve().parents[2] / "src")
MODELS = Path(__file__).resolve().parents[2] / "models"
#: Live keys in the environment: loaded, unused by a paper run, and never to be logged.
ENV_KEY, ENV_SECRET = "env-key-7f3a9c21d4", "env-secret-b18e55f0aa"


def _run(tmp_path: Path, fmt: str) -> tuple[str, str, str]:
    log_file = tmp_path / "bot.log"
    config = tmp_path / "bot.toml"
    config.write_text(f'[log]\nformat = "{fmt}"\nfile = "{log_file}"\n')
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "BITUNIX_API_KEY": ENV_KEY, "BITUNIX_API_SECRET": ENV_SECRET}
    proc = subprocess.run(
        [sys.executable, "-m", "bitunix", "--log-level", "DEBUG", "run", "--config",
         str(config), "--data", "synthetic:3", "--speed", "50", "--duration", "3",
         "--models-dir", str(MODELS), "--store", str(tmp_path / "s.sqlite")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr, log_file.read_text()


def test_a_debug_run_logs_requests_and_no_secret(tmp_path: Path) -> None:
    out, err, file_text = _run(tmp_path, "json")
    lines = [json.loads(line) for line in file_text.splitlines()]
    assert err.splitlines() == file_text.splitlines()  # the same lines in both places
    requests = [r for r in lines if r["logger"] == "bitunix.exchange.rest"]
    assert any(r["msg"].startswith("-> GET /api/v1/futures/account") for r in requests)
    assert any(r["msg"].startswith("<- GET") and "HTTP 200" in r["msg"] for r in requests)
    assert {r["level"] for r in requests} == {"DEBUG"}
    assert "mode paper" in out
    for text in (out, err, file_text):
        for secret in (SIM_API_KEY, SIM_API_SECRET, ENV_KEY, ENV_SECRET):
            assert secret not in text


def test_kv_is_the_default_format(tmp_path: Path) -> None:
    _out, err, file_text = _run(tmp_path, "kv")
    line = next(line for line in file_text.splitlines() if "msg=\"-> GET" in line)
    assert line.split(" ")[1:4] == ["level=DEBUG", "logger=bitunix.exchange.rest",
                                    'msg="->']
    assert err.splitlines() == file_text.splitlines()
