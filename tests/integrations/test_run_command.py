"""``bitunix-bot run`` as a process with the webhook and paging configured: an alert
signed with the environment's secret becomes an order, ``bitunix-bot kill`` from another
process pages PagerDuty, and no secret reaches the output or the log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bitunix.integrations.tradingview import sign
from bitunix.store import SqliteStore
from tests.app.conftest import MODELS
from tests.integrations.test_alerting import FakePagerDuty

SECRET = "run-secret-0123456789abcdef"
KEY = "RUNROUTINGKEY0123456789abcdef012"


async def test_a_paper_run_takes_alerts_and_pages(tmp_path: Path, capture_slice: Path) -> None:
    pagerduty = await FakePagerDuty().start()
    config = tmp_path / "bot.toml"
    config.write_text(f"""
[http]
port = 0
[tradingview]
enabled = true
[alerting]
sample_s = 0.1
[alerting.pagerduty]
enabled = true
base_url = "{pagerduty.url}"
dedup_prefix = "e2e"
retry_backoff_s = 0.05
[run]
idle_stop_s = 0.0
""")
    store = tmp_path / "s.sqlite"
    log = tmp_path / "run.log"
    env = {**os.environ, "BITUNIX_TRADINGVIEW_SECRET": SECRET,
           "BITUNIX_PAGERDUTY_ROUTING_KEY": KEY, "PYTHONUNBUFFERED": "1"}
    env.pop("BITUNIX_SECRETS_FILE", None)
    errors = log.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitunix", "--log-level", "INFO", "run", "--config",
        str(config), "--data", str(capture_slice), "--speed", "5", "--duration", "60",
        "--store", str(store), "--models-dir", str(MODELS), "--no-live",
        stdout=asyncio.subprocess.PIPE, stderr=errors, env=env)
    assert proc.stdout is not None
    out: list[str] = []
    try:
        url = ""
        async with asyncio.timeout(60):
            while not url:
                line = (await proc.stdout.readline()).decode()
                assert line, "the run ended early:\n" + "".join(out)
                out.append(line)
                if line.startswith("dashboard: "):
                    url = line.split()[1]

        async def drain() -> None:
            while line := await proc.stdout.readline():  # type: ignore[union-attr]
                out.append(line.decode())

        reader = asyncio.ensure_future(drain())
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            status, answer, n = 0, {}, 0
            async with asyncio.timeout(40):
                while status != 202:
                    n += 1
                    body = json.dumps({"symbol": "BTCUSDT", "action": "buy", "nonce": f"e{n}",
                                       "ts": time.time_ns() // 1_000_000}).encode()
                    async with http.post(url + "webhook/tradingview", data=body,
                                         headers={"X-Signature": sign(SECRET, body)}) as r:
                        status, answer = r.status, await r.json()
                    assert status in (202, 503), answer  # 503: not trading yet
                    if status != 202:
                        await asyncio.sleep(0.2)
            assert answer == {"ok": True, "outcome": "order"}
        kill = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bitunix", "kill", "--store", str(store), "--reason", "e2e",
            env=env, stdout=asyncio.subprocess.DEVNULL)
        assert await asyncio.wait_for(kill.wait(), 30) == 0
        def kill_events() -> list[dict[str, Any]]:
            return [e for e in pagerduty.events if e["dedup_key"] == "e2e:kill_switch"]

        # the kill switch pages; the operator who engaged it acknowledges the incident
        async with asyncio.timeout(15):
            while len(kill_events()) < 2:
                await asyncio.sleep(0.05)
        assert [e["event_action"] for e in kill_events()] == ["trigger", "acknowledge"]
        assert all(e["routing_key"] == KEY for e in kill_events())
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 130
        await asyncio.wait_for(reader, 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await pagerduty.stop()
        errors.close()
    text = "".join(out) + log.read_text()
    assert SECRET not in text
    assert KEY not in text
    db = SqliteStore(store, flush_interval_s=0.05)
    try:
        orders = [o for o in db.orders() if o.strategy == "tradingview" and not o.reduce_only]
        assert len(orders) == 1
        assert "accepted" in [a.reason for a in db.audit("tradingview")]
    finally:
        db.close()
