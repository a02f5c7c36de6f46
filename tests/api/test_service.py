"""The control API against a paper bot on the simulator: reads, changes through the
operator's path (risk checks, audit), scopes, and the JSON refusals."""

from __future__ import annotations

import msgspec
import requests

from bitunix.api.observer import ApiObserver
from bitunix.api.schemas import (
    ActionResult,
    BalanceView,
    ConfigView,
    ModelResult,
    OrderList,
    PositionList,
    StatusView,
)
from bitunix.model.records import AuditEntry
from tests.api.conftest import TOKENS, ThreadedBot, auth, wait_until

TIMEOUT = 20


def _get(bot: ThreadedBot, path: str, scope: str = "read", **kw: object) -> requests.Response:
    return requests.get(bot.url + path, headers=auth(scope), timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def _post(bot: ThreadedBot, path: str, body: object = None, scope: str = "trade"
          ) -> requests.Response:
    return requests.post(bot.url + path, headers=auth(scope), timeout=TIMEOUT,
                         json=body)


def _error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


def _audits(bot: ThreadedBot) -> list[AuditEntry]:
    store = bot.bot.store
    assert store is not None

    def read() -> list[AuditEntry]:
        store.flush(timeout_s=5.0)
        return store.audit()

    return list(bot.call(read))


def test_a_manual_order_goes_through_the_risk_check_and_is_audited(api_bot: ThreadedBot
                                                                   ) -> None:
    spec = api_bot.bot.contracts["BTCUSDT"]
    # Far beyond the exposure limit: refused by the same check as `order place`.
    huge = _post(api_bot, "/api/v1/orders", {"symbol": "BTCUSDT", "side": "BUY",
                                             "qty": str(spec.qty_step * 1_000_000)})
    assert "refused by risk" in _error(huge, 409, "refused")
    engine = api_bot.bot.engine
    assert engine is not None
    assert not [o for o in engine.open_orders() if o.strategy == "operator"]
    # A far-away limit order rests on the book; then it is cancelled by its id.
    mark = engine.portfolio.marks["BTCUSDT"]
    price = spec.format_price(mark // 2)
    placed = _post(api_bot, "/api/v1/orders", {"symbol": "BTCUSDT", "side": "BUY",
                                               "qty": str(spec.qty_step), "price": price})
    assert placed.status_code == 200, placed.text
    result = msgspec.json.decode(placed.content, type=ActionResult)
    client_id = result.detail["client_id"]
    assert result.detail["status"] == "NEW"
    orders = msgspec.json.decode(_get(api_bot, "/api/v1/orders").content, type=OrderList)
    # The strategy trades too: the manual order is the one with the operator's mark.
    assert [(o.client_id, o.price, o.type) for o in orders.orders
            if o.strategy == "operator"] == [(client_id, price, "LIMIT")]
    by_symbol = msgspec.json.decode(_get(api_bot, "/api/v1/orders?symbol=BTCUSDT").content,
                                    type=OrderList)
    assert client_id in [o.client_id for o in by_symbol.orders]
    cancelled = requests.delete(f"{api_bot.url}/api/v1/orders/{client_id}",
                                headers=auth("trade"), timeout=TIMEOUT)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["detail"]["status"] == "CANCELED"
    again = requests.delete(f"{api_bot.url}/api/v1/orders/{client_id}",
                            headers=auth("trade"), timeout=TIMEOUT)
    assert "no open order" in _error(again, 409, "refused")
    unknown = requests.delete(f"{api_bot.url}/api/v1/orders/bx-nope", headers=auth("trade"),
                              timeout=TIMEOUT)
    _error(unknown, 404, "not_found")
    audits = [a for a in _audits(api_bot) if a.action == "operator"]
    assert [(a.strategy, a.reason, a.detail["ok"]) for a in audits][:3] == [
        ("api:trade", "order_place", "false"), ("api:trade", "order_place", "true"),
        ("api:trade", "order_cancel", "true")]


def test_bad_order_fields_are_422_and_nothing_is_sent(api_bot: ThreadedBot) -> None:
    before = len([a for a in _audits(api_bot) if a.action == "operator"])
    for body, words in (
        ({"symbol": "ETHUSDT", "side": "BUY", "qty": "1"}, "the bot trades BTCUSDT"),
        ({"symbol": "BTCUSDT", "side": "BUY", "qty": "0"}, "not > 0"),
        ({"symbol": "BTCUSDT", "side": "BUY", "qty": "0.00001"}, "not a multiple"),
        ({"symbol": "BTCUSDT", "side": "HOLD", "qty": "1"}, "side"),
        ({"symbol": "BTCUSDT", "side": "BUY", "qty": "1", "leverage": 3}, "leverage"),
        ({"symbol": "BTCUSDT", "side": "BUY"}, "qty"),
    ):
        assert words in _error(_post(api_bot, "/api/v1/orders", body), 422, "invalid")
    not_json = requests.post(api_bot.url + "/api/v1/orders", data=b"{nope",
                             headers=auth("trade"), timeout=TIMEOUT)
    _error(not_json, 400, "bad_request")
    empty = requests.post(api_bot.url + "/api/v1/orders", headers=auth("trade"),
                          timeout=TIMEOUT)
    _error(empty, 400, "bad_request")
    # Refused before the bot was asked.
    assert len([a for a in _audits(api_bot) if a.action == "operator"]) == before


def test_changes_go_through_the_bots_own_control_handler(api_bot: ThreadedBot) -> None:
    observer = api_bot.observers[1]
    assert isinstance(observer, ApiObserver)
    assert observer.api is not None
    assert observer.api.handler is api_bot.bot.control_handler


def test_reads(api_bot: ThreadedBot) -> None:
    status = msgspec.json.decode(_get(api_bot, "/api/v1/status").content, type=StatusView)
    assert (status.mode, status.venue, status.symbols) == ("paper", "sim", ["BTCUSDT"])
    assert status.active
    assert status.ready
    assert status.model is not None
    balance = msgspec.json.decode(_get(api_bot, "/api/v1/balance").content, type=BalanceView)
    assert balance.coin == "USDT"
    assert balance.available is not None
    engine = api_bot.bot.engine
    assert engine is not None
    assert engine.portfolio.wallet() is not None
    assert balance.wallet == str(engine.portfolio.wallet())
    positions = msgspec.json.decode(_get(api_bot, "/api/v1/positions").content,
                                    type=PositionList)
    assert all(p.symbol == "BTCUSDT" for p in positions.positions)
    unknown = _get(api_bot, "/api/v1/orders?symbol=NOPE1")
    _error(unknown, 422, "invalid")
    _error(_get(api_bot, "/api/v1/nothing"), 404, "not_found")
    _error(requests.put(api_bot.url + "/api/v1/status", headers=auth("read"),
                        timeout=TIMEOUT), 405, "method_not_allowed")


def test_tokens_and_scopes(api_bot: ThreadedBot) -> None:
    url = api_bot.url + "/api/v1/status"
    missing = requests.get(url, timeout=TIMEOUT)
    _error(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer bxa_wrong", "Basic " + TOKENS["admin"], TOKENS["admin"],
                   "Bearer " + TOKENS["admin"][:-1], "Bearer " + "x" * 5000):
        _error(requests.get(url, headers={"Authorization": header}, timeout=TIMEOUT), 401,
               "unauthorized")
    # read < trade < admin
    assert "'trade'" in _error(_post(api_bot, "/api/v1/pause", {}, scope="read"), 403,
                               "insufficient_scope")
    for scope in ("read", "trade"):
        _error(_get(api_bot, "/api/v1/config", scope=scope), 403, "insufficient_scope")
        _error(_post(api_bot, "/api/v1/kill/release", {}, scope=scope), 403,
               "insufficient_scope")
        _error(_post(api_bot, "/api/v1/models/rollback", scope=scope), 403,
               "insufficient_scope")
    forced = _post(api_bot, "/api/v1/orders", {"symbol": "BTCUSDT", "side": "BUY",
                                               "qty": "1", "force": True})
    assert "admin" in _error(forced, 403, "insufficient_scope")
    assert _get(api_bot, "/api/v1/status", scope="admin").status_code == 200
    metrics = requests.get(api_bot.url + "/metrics", timeout=TIMEOUT).text
    assert 'bitunix_http_refused_total{reason="unauthorized"}' in metrics
    assert 'bitunix_http_refused_total{reason="scope"}' in metrics


def test_pause_resume_kill_release_flatten(api_bot: ThreadedBot) -> None:
    bot = api_bot.bot
    paused = _post(api_bot, "/api/v1/pause", {"reason": "lunch"})
    assert paused.status_code == 200
    assert bot.paused
    assert bot.paused_reason == "lunch"
    assert _get(api_bot, "/api/v1/status").json()["paused"] is True
    resumed = _post(api_bot, "/api/v1/resume")
    assert resumed.status_code == 200
    assert not bot.paused
    killed = _post(api_bot, "/api/v1/kill", {"reason": "drill"})
    assert killed.status_code == 200, killed.text
    assert bot.gate.state.kill_switch
    assert bot.gate.state.kill_reason == "drill"
    released = _post(api_bot, "/api/v1/kill/release", {}, scope="admin")
    assert released.status_code == 200
    assert not bot.gate.state.kill_switch
    flat = _post(api_bot, "/api/v1/flatten", {"timeout_s": 10})
    assert flat.status_code == 200, flat.text
    assert flat.json()["detail"]["flat"] == "true"
    assert bot.paused
    all_cancelled = _post(api_bot, "/api/v1/orders/cancel-all", {"symbol": "BTCUSDT"})
    assert all_cancelled.status_code == 200, all_cancelled.text
    _post(api_bot, "/api/v1/resume")
    reasons = [a.reason for a in _audits(api_bot) if a.action == "operator"]
    for action in ("pause", "resume", "kill", "release", "flatten", "cancel_all"):
        assert action in reasons


def test_model_promote_and_rollback_change_the_registry(api_bot: ThreadedBot) -> None:
    stack = api_bot.bot.stack
    assert stack is not None
    assert stack.registry is not None
    registry = stack.registry
    active = next(e for e in registry.entries() if e.status == "active")
    other = next(e for e in registry.entries() if e.name != active.name)
    promoted = _post(api_bot, "/api/v1/models/promote",
                     {"name": other.name, "version": other.version}, scope="admin")
    assert promoted.status_code == 200, promoted.text
    result = msgspec.json.decode(promoted.content, type=ModelResult)
    assert (result.name, result.status) == (other.name, "active")
    assert registry.get(other.name, other.version).status == "active"
    wait_until(lambda: stack.model_status().model == f"{other.name}@{other.version}", 20,
               "the hot swap")
    back = _post(api_bot, "/api/v1/models/rollback", scope="admin")
    assert back.status_code == 200, back.text
    assert registry.get(active.name, active.version).status == "active"
    _error(_post(api_bot, "/api/v1/models/promote", {"name": "nope"}, scope="admin"), 404,
           "not_found")
    reasons = [a.reason for a in _audits(api_bot) if a.strategy == "api:admin"]
    assert "model_promote" in reasons
    assert "model_rollback" in reasons


def test_config_read_masks_every_secret(api_bot: ThreadedBot) -> None:
    response = _get(api_bot, "/api/v1/config", scope="admin")
    view = msgspec.json.decode(response.content, type=ConfigView)
    tokens = view.config["api"]["tokens"]
    assert [t["sha256"] for t in tokens] == ["***"] * 3
    assert view.config["symbols"] == ["BTCUSDT"]
    text = response.text
    for token in TOKENS.values():
        assert token not in text
    for entry in api_bot.config.api.tokens:
        assert entry.sha256 not in text


def test_the_openapi_document_is_served_without_a_token(api_bot: ThreadedBot) -> None:
    response = requests.get(api_bot.url + "/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
