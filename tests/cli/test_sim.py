"""``bitunix-bot sim`` in a subprocess: prints its URLs, serves, stops on SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bitunix.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")


async def _read_urls(proc: asyncio.subprocess.Process) -> dict[str, str]:
    urls: dict[str, str] = {}
    assert proc.stdout is not None
    while len(urls) < 4:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert line, "sim exited before printing its URLs"
        name, _, value = line.decode().strip().partition(" ")
        urls[name] = value
    return urls


async def test_sim_command_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitunix", "sim", "--port", "0", "--data", "synthetic:7",
        "--speed", "5", "--api-secret", "s3cret", stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env)
    try:
        urls = await _read_urls(proc)
        assert urls["rest_url"].startswith("http://127.0.0.1:")
        assert urls["public_ws_url"].endswith("/public/")
        assert urls["private_ws_url"].endswith("/private/")
        assert urls["api_key"] == "sim-api-key"
        async with aiohttp.ClientSession() as s:
            async with s.get(urls["rest_url"] + "/api/v1/futures/market/tickers",
                             params={"symbols": "BTCUSDT"}) as r:
                body = await r.json()
            assert body["code"] == 0
            assert [row["symbol"] for row in body["data"]] == ["BTCUSDT"]
            async with s.ws_connect(urls["public_ws_url"]) as ws:
                first = await ws.receive_json(timeout=5)
                assert first == {"op": "connect", "data": {"result": True}}
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop, then 130 like any command
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 130
        _, err = await proc.communicate()
        assert err == b"bitunix-bot sim: interrupted\n"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_sim_command_in_process_with_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--data", "synthetic", "--duration", "0.2", "--speed", "10",
                 "--wait-for-subscriber", "--quirks", "--rate-limits"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["rest_url", "public_ws_url",
                                                 "private_ws_url", "api_key"]


async def test_sim_command_stops_on_sigterm_with_exit_0() -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitunix", "sim", "--data", "synthetic:1",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        await _read_urls(proc)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
        _, err = await proc.communicate()
        assert err == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
