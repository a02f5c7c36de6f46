"""``bitunix-bot run`` in its own process with [notify] on: the fake servers hear the
fills, the start line says where notices go, and neither secret appears anywhere."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.app.conftest import BUSY, MODELS

SRC = str(Path(__file__).resolve().parents[2] / "src")
TOKEN, SECRET = "987654:cli-telegram-token-x", "cli-webhook-secret-y"


async def test_run_sends_notices_and_never_shows_the_secrets(
        tmp_path: Path, capture_slice: Path, servers: Any) -> None:
    tg, hook = await servers("ok"), await servers("ok")
    log_file = tmp_path / "bot.log"
    config = tmp_path / "bot.toml"
    config.write_text(BUSY + f"""
[log]
format = "json"
file = "{log_file}"
[notify]
events = ["fill", "error"]
[notify.telegram]
enabled = true
chat_id = "-42"
base_url = "{tg.url}"
[notify.webhook]
enabled = true
url = "{hook.url}/hooks/path-token-abc"
[http]
enabled = false
""")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "BITUNIX_TELEGRAM_TOKEN": TOKEN, "BITUNIX_WEBHOOK_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitunix", "--log-level", "DEBUG", "run", "--config",
        str(config), "--data", str(capture_slice), "--speed", "15", "--duration", "30",
        "--models-dir", str(MODELS), "--store", str(tmp_path / "s.sqlite"),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out_b, err_b = await asyncio.wait_for(proc.communicate(), 120)
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 0, err[-2000:]
    port = hook.url.rsplit(":", 1)[1]
    assert (f"notify: telegram chat -42, webhook http://127.0.0.1:{port}/... (signed); "
            "events fill, error") in out
    fills = int(next(line for line in out.splitlines() if line.startswith("trading:"))
                .split(" fills")[0].rsplit(" ", 1)[1])
    assert fills > 0
    assert len(tg.requests) == len(hook.requests) == fills
    for path, headers, body in hook.requests:
        assert path == "/hooks/path-token-abc"
        assert headers["X-Bitunix-Signature"] == "sha256=" + hmac.new(
            SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert json.loads(body)["kind"] == "fill"
    assert {p for p, _, _ in tg.requests} == {f"/bot{TOKEN}/sendMessage"}
    file_text = log_file.read_text()
    assert any(json.loads(line)["logger"] == "bitunix.exchange.rest"
               for line in file_text.splitlines())
    for text in (out, err, file_text):
        for secret in (TOKEN, SECRET, "path-token-abc"):
            assert secret not in text
