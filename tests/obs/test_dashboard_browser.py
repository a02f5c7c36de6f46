"""The risk dashboard in real headless Chromium against a running bot on the simulator:
the values it shows are the bot's, and they change without a reload."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bitunix.app.bot import BotRun
from tests.obs.cdp import Browser
from tests.obs.conftest import live_run, wait_for
from tests.obs.test_metrics import engage_kill_switch

#: Where tools/dashboard_screenshot.py wants the screenshot copied (docs/dashboard.png);
#: unset in a test run, which writes only under its tmp_path.
SCREENSHOT_TO = "BITUNIX_DASHBOARD_SCREENSHOT"


async def until(probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool],
                timeout_s: float, what: str) -> Any:
    """Evaluate ``probe`` every 100 ms until ``ok`` of its value, for at most ``timeout_s``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    value = None
    while loop.time() < end:
        value = await probe()
        if ok(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value {value!r}")


def money(value: Decimal | None) -> str:
    """As the page formats it (two decimals)."""
    assert value is not None
    return f"{value:.2f}"


def quiet(bot: BotRun) -> bool:
    """Flat, no open order: nothing changes until the next entry (none: kill switch)."""
    engine = bot.engine
    assert engine is not None
    return engine.portfolio.is_flat and not engine.open_orders()


_POSITIONS = """[...document.querySelectorAll('#positions tr[data-symbol]')].map(
    tr => [tr.dataset.symbol, tr.children[1].textContent])"""


async def test_the_dashboard_shows_the_bots_state_live(tmp_path: Path,
                                                       capture_slice: Path) -> None:
    async with live_run(tmp_path, capture_slice, **{"sim.speed": 3.0,
                                                    "run.duration_s": 60.0}) as run, \
            Browser(tmp_path / "chromium") as browser:
        bot = run.bot
        engine = bot.engine
        assert engine is not None
        await browser.goto(run.url)
        assert await browser.evaluate("document.title") == "bitunix-bot risk dashboard"
        await until(lambda: browser.evaluate("window.snapshots || 0"), lambda n: n >= 1, 10,
                    "the first snapshot")
        await browser.evaluate("window.notReloaded = 42")
        assert await browser.evaluate("document.getElementById('mode').textContent") == "paper"
        assert await browser.evaluate("document.getElementById('conn').textContent") == "live"

        # an open position: the page shows the bot's size (the same, at some moment)
        async def position_matches() -> bool:
            pos = engine.position("BTCUSDT")
            want = [] if pos is None or pos.is_flat else [["BTCUSDT", str(pos.qty)]]
            return bool(want) and await browser.evaluate(_POSITIONS) == want

        await until(position_matches, bool, 30, "the page to show an open position")
        trading = await browser.screenshot()  # docs/dashboard.png (see SCREENSHOT_TO)

        # live: the market counters move on the page without a reload
        before = await browser.evaluate("document.getElementById('market').textContent")
        await until(lambda: browser.evaluate("document.getElementById('market').textContent"),
                    lambda text: text != before, 10, "a live update")
        assert await browser.evaluate("document.getElementById('kill-switch').textContent") \
            == "off"

        # the operator engages the kill switch (with a flatten): the page says so, live
        engage_kill_switch(bot, "browser test")
        text = await until(
            lambda: browser.evaluate("document.getElementById('kill-switch').textContent"),
            lambda t: t.startswith("ENGAGED"), 10, "the kill switch on the page")
        assert text == "ENGAGED (browser test)"
        assert bot.gate.kill_switch_engaged

        # once the bot is quiet (flat, nothing open, no new entry), every figure on the
        # page equals the bot's
        await wait_for(lambda: quiet(bot), 30, "the bot to be flat")
        pf = engine.portfolio

        async def page_equals_bot() -> dict[str, Any]:
            shown = await browser.evaluate("""(() => { const t = id =>
                document.getElementById(id).textContent; return {
                total: t('pnl-total'), realized: t('pnl-realized'),
                unrealized: t('pnl-unrealized'), fees: t('fees'), equity: t('equity'),
                counts: t('counts'), positions: t('positions'),
                open: t('open-orders'), denials: [...document.querySelectorAll(
                  '#denial-counts tr[data-reason]')].map(tr => [tr.children[0].textContent,
                  Number(tr.children[1].textContent)]) }; })()""")
            c = engine.counters
            want = {"total": money(pf.net_realized() + pf.unrealized()),
                    "realized": money(pf.net_realized()),
                    "unrealized": money(pf.unrealized()), "fees": money(pf.fees()),
                    "equity": money(pf.equity()),
                    "counts": f"{c.orders} / {c.fills} / {c.trades}",
                    "positions": "flat: no position",
                    "open": f"0 / {bot.config.risk.limits.max_open_orders}",
                    "denials": [[k, v] for k, v in bot.gate.denials.as_dict().items()]}
            return {"shown": shown, "want": want, "equal": shown == want and quiet(bot)}

        result = await until(page_equals_bot, lambda r: r["equal"], 10,
                             "the page to equal the bot")
        assert result["shown"]["counts"] != "0 / 0 / 0"  # it traded
        assert await browser.evaluate("window.notReloaded") == 42  # never reloaded

        png = await browser.screenshot()
        for image in (trading, png):
            assert image[:8] == b"\x89PNG\r\n\x1a\n"
        shot = tmp_path / "dashboard.png"
        shot.write_bytes(trading)
        target = os.environ.get(SCREENSHOT_TO)
        if target:
            shutil.copyfile(shot, target)
