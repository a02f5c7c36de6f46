"""The notifier's parts: notices, channels' failures, the queue bound, the rate limit,
the daily schedule."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bitunix.config import Mode
from bitunix.config.notify import NotifySecrets, NotifySection, TelegramSection, WebhookSection
from bitunix.notify import (
    DailyFigures,
    Notice,
    Notifier,
    TelegramChannel,
    WebhookChannel,
    build_notifier,
    daily_summary,
    sign_body,
)
from bitunix.notify.channels import NotifyError
from bitunix.notify.messages import error_notice, risk_notice
from bitunix.notify.notifier import Lane
from bitunix.risk.verdict import Reason, RiskTransition

NOTICE = Notice(kind="fill", text="fill X", data={"qty": "0.001"}, ts_ns=1_500_000_000)


def test_risk_notices() -> None:
    trip = risk_notice(RiskTransition(ts_ns=5, kind=Reason.BREAKER_VOLATILITY, active=True,
                                      symbol="BTCUSDT", values={"z": 4.5, "max_z": 4.0}))
    assert trip.kind == "breaker"
    assert trip.text == "risk: breaker_volatility tripped on BTCUSDT (z 4.5, max_z 4.0)"
    assert trip.data["value_z"] == "4.5"
    assert trip.data["active"] is True
    back = risk_notice(RiskTransition(ts_ns=6, kind=Reason.DAILY_LOSS, active=False))
    assert back.text == "risk: daily_loss recovered"
    release = risk_notice(RiskTransition(ts_ns=7, kind=Reason.KILL_SWITCH, active=False))
    assert (release.kind, release.text) == ("kill", "kill switch released: entries allowed "
                                                    "again")


def test_error_notice_and_payload() -> None:
    notice = error_notice("error: the market data ended", 2_000_000_000)
    assert notice.text == "error: the market data ended"
    assert notice.payload("live") == {"kind": "error", "ts_ms": 2000, "mode": "live",
                                      "text": "error: the market data ended",
                                      "data": {"message": "the market data ended"}}


def test_daily_summary_text_and_data() -> None:
    figures = DailyFigures(start_ns=0, end_ns=86_400 * 10**9, fills=4, round_trips=2,
                           realized=Decimal("-0.877849370"), fees=Decimal("1.192979370"),
                           funding=Decimal(0), unrealized=Decimal("0.5"), equity=None,
                           positions={"BTCUSDT": Decimal("-0.002")})
    notice = daily_summary(figures, "paper")
    assert notice.text == (
        "daily summary (paper, last 24.0 h): 4 fills, 2 round trips, realised -0.877849370 "
        "(fees 1.192979370, funding 0), unrealised 0.5, equity n/a; positions: "
        "BTCUSDT -0.002")
    assert notice.data["position_BTCUSDT"] == "-0.002"
    assert notice.data["equity"] == ""


def test_sign_body() -> None:
    # RFC 4231 test case 2
    assert sign_body("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_channels_never_show_their_secret() -> None:
    tg = TelegramChannel(token="1:very-secret", chat_id="5")
    hook = WebhookChannel(url="http://127.0.0.1/h", secret="hook-secret")
    assert "very-secret" not in repr(tg)
    assert "hook-secret" not in repr(hook)


async def test_channel_failures_are_notify_errors(servers: Any) -> None:
    bad = await servers("500")
    ok, notok = await servers("ok"), await servers("notok")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(NotifyError, match="telegram sendMessage: HTTP 500"):
            await TelegramChannel(token="1:t", chat_id="5", base_url=bad.url).send(
                session, NOTICE, "paper", 1.0)
        # a 2xx that is not Telegram's {"ok": true}
        with pytest.raises(NotifyError, match="the answer is not"):
            await TelegramChannel(token="1:t", chat_id="5", base_url=notok.url).send(
                session, NOTICE, "paper", 1.0)
        with pytest.raises(NotifyError, match=r"^webhook: ClientConnectorError$"):
            await WebhookChannel(url="http://127.0.0.1:9/h").send(session, NOTICE, "paper",
                                                                  1.0)
        await WebhookChannel(url=ok.url + "/h").send(session, NOTICE, "paper", 1.0)
    _path, headers, body = ok.requests[-1]
    assert "X-Bitunix-Signature" not in headers  # no secret, no signature
    assert json.loads(body)["data"] == {"qty": "0.001"}


def _fake_bot(lines: list[str] | None = None) -> Any:
    """What the notifier reads of a run: its mode, its engine (none: a dry run), emit."""
    return SimpleNamespace(mode=Mode.PAPER, engine=None,
                           emit=(lines if lines is not None else []).append)


async def test_a_full_queue_drops_and_never_waits(
        servers: Any, caplog: pytest.LogCaptureFixture) -> None:
    hang = await servers("hang")
    section = NotifySection(webhook=WebhookSection(enabled=True, url=hang.url + "/h"),
                            queue_size=2, attempts=1, timeout_s=5.0)
    notifier = build_notifier(section, NotifySecrets())
    assert notifier is not None
    notifier.drain_s = 0.2
    notifier.notify(NOTICE)  # before start: nowhere to go, nothing kept
    await notifier.start(_fake_bot())
    with caplog.at_level(logging.WARNING, logger="bitunix.notify"):
        for _ in range(10):
            notifier.notify(NOTICE)
        await asyncio.sleep(0.2)  # one in flight (hanging), two queued, seven dropped
        lane = notifier.lanes[0]
        assert lane.dropped in (7, 8)
        await notifier.stop()
    assert lane.unsent == 10 - lane.dropped
    messages = [r.getMessage() for r in caplog.records]
    assert "notify webhook: queue full (2 notices): 1 dropped so far" in messages
    assert f"notify webhook: {lane.unsent} notices not sent (the run stopped)" in messages


async def test_the_rate_limit_spaces_sends() -> None:
    lane = Lane(WebhookChannel(url="http://127.0.0.1/h"), size=5, per_minute=2)
    loop = asyncio.get_running_loop()
    lane.window.extend([loop.time() - 59.8, loop.time() - 1.0])  # a minute's budget used
    t0 = loop.time()
    await lane.wait_for_slot()
    assert loop.time() - t0 >= 0.15  # waited for the oldest send to leave the minute
    assert len(lane.window) == 2


async def test_events_not_chosen_are_not_sent(servers: Any) -> None:
    hook = await servers("ok")
    section = NotifySection(webhook=WebhookSection(enabled=True, url=hook.url + "/h"),
                            events=["error"])
    notifier = build_notifier(section, NotifySecrets())
    assert isinstance(notifier, Notifier)
    lines: list[str] = []
    await notifier.start(_fake_bot(lines))
    port = hook.url.rsplit(":", 1)[1]
    assert lines == [f"notify: webhook http://127.0.0.1:{port}/... (unsigned); events error"]
    notifier.on_line("risk: kill switch released")
    notifier.on_line("error: lost the store's lease")
    notifier.on_risk(RiskTransition(ts_ns=1, kind=Reason.KILL_SWITCH, active=True))
    await notifier.stop()
    assert [b["kind"] for b in hook.bodies()] == ["error"]
    assert notifier.daily_figures().equity is None  # a dry run has no engine


def test_seconds_to_daily() -> None:
    section = NotifySection(daily_at="21:30")
    notifier = Notifier(section, [], now_ns=lambda: (86_400 * 3 + 21 * 3600) * 10**9)
    assert notifier.seconds_to_daily() == 1800
    notifier.now_ns = lambda: (86_400 * 3 + 21 * 3600 + 1800) * 10**9  # exactly due: next day
    assert notifier.seconds_to_daily() == 86_400
    assert build_notifier(NotifySection(), NotifySecrets()) is None
    both = build_notifier(NotifySection(
        telegram=TelegramSection(enabled=True, chat_id="1"),
        webhook=WebhookSection(enabled=True, url="https://h.example.com")),
        NotifySecrets(telegram_token="1:t"))
    assert both is not None
    assert [lane.channel.name for lane in both.lanes] == ["telegram", "webhook"]


async def test_a_bug_in_a_channel_is_logged_and_the_lane_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    class Buggy(WebhookChannel):
        calls = 0

        async def send(self, session: aiohttp.ClientSession, notice: Notice, mode: str,
                       timeout_s: float) -> None:
            Buggy.calls += 1
            if Buggy.calls == 1:
                raise KeyError("bug")

    notifier = Notifier(NotifySection(attempts=3), [Buggy(url="http://127.0.0.1/h")])
    await notifier.start(_fake_bot())
    with caplog.at_level(logging.WARNING, logger="bitunix.notify"):
        notifier.notify(NOTICE)
        notifier.notify(NOTICE)
        await notifier.stop()
    lane = notifier.lanes[0]
    assert (lane.failed, lane.sent, Buggy.calls) == (1, 1, 2)  # no retry of a bug
    assert "notify webhook: fill notice not sent after 3 attempts: internal error: KeyError" \
        in [r.getMessage() for r in caplog.records]
