"""The handler against a bot without an execution engine (dry-run): the switches work,
orders are refused with a reason, every request is audited; bad arguments are refused."""

from __future__ import annotations

from bitunix.control import new_request
from bitunix.control.handler import ControlHandler
from bitunix.core.clock import LiveClock
from bitunix.execution.engine import ExecutionEngine
from bitunix.model import ContractSpec, Fill, Order, Position
from bitunix.model.records import AuditEntry, Decision
from bitunix.risk.config import RiskConfig
from bitunix.risk.gate import RiskGate
from bitunix.risk.kill import KillRequest
from tests.risk.conftest import BTC


class Journal:
    def __init__(self) -> None:
        self.audit: list[AuditEntry] = []

    def record_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def record_order(self, order: Order) -> None: ...
    def record_fill(self, fill: Fill) -> None: ...
    def record_position(self, position: Position) -> None: ...
    def record_decision(self, decision: Decision) -> None: ...


class DryRunBot:
    def __init__(self) -> None:
        self.gate = RiskGate(RiskConfig())
        self.engine: ExecutionEngine | None = None
        self.contracts: dict[str, ContractSpec] = {"BTCUSDT": BTC}
        self.clock = LiveClock()
        self.journal = Journal()
        self.paused = False
        self.kills: list[KillRequest] = []

    def set_paused(self, paused: bool, reason: str) -> None:
        self.paused = paused

    def apply_kill(self, request: KillRequest, now_ns: int) -> None:
        self.kills.append(request)
        if request.engage:
            self.gate.engage_kill_switch(request.reason, now_ns)
        else:
            self.gate.release_kill_switch(now_ns)


async def test_switches_work_and_orders_are_refused_in_dry_run() -> None:
    bot = DryRunBot()
    handler = ControlHandler(bot)
    answer = await handler.handle(new_request("pause", {"reason": "x"}))
    assert answer.ok
    assert bot.paused
    answer = await handler.handle(new_request("kill", {"flatten": "true", "reason": "k"}))
    assert answer.ok
    assert answer.message == "kill switch engaged; nothing to flatten (dry-run sends no orders)"
    assert bot.kills[0].reason == "k"
    assert bot.gate.kill_switch_engaged
    answer = await handler.handle(new_request("release"))
    assert answer.ok
    assert not bot.gate.kill_switch_engaged
    for action in ("order_place", "order_cancel", "cancel_all", "flatten"):
        answer = await handler.handle(new_request(action, {"symbol": "BTCUSDT"}))
        assert not answer.ok
        assert answer.message == "the bot runs in dry-run: it sends no orders"
    assert [a.reason for a in bot.journal.audit] == [
        "pause", "kill", "release", "order_place", "order_cancel", "cancel_all", "flatten"]
    assert [a.detail["ok"] for a in bot.journal.audit] == ["true"] * 3 + ["false"] * 4
    assert all(a.action == "operator" for a in bot.journal.audit)
    assert all(a.strategy == "operator" for a in bot.journal.audit)


async def test_a_bad_timeout_is_refused_before_anything_happens() -> None:
    bot = DryRunBot()
    handler = ControlHandler(bot)
    for value, fragment in (("abc", "timeout_s 'abc': not a number"),
                            ("0", "timeout_s 0.0: not in (0, 600]")):
        answer = await handler.handle(new_request("kill", {"timeout_s": value}))
        assert not answer.ok
        assert answer.message == fragment
    assert bot.kills == []
    refused = handler.refuse_unreadable("id-1", "why")
    assert (refused.id, refused.ok, refused.message) == ("id-1", False, "why")
