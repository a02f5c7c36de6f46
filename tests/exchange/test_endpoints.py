"""The endpoint table agrees with the rate-limit table and the retry policy."""

from __future__ import annotations

from bitunix.exchange import endpoints as api
from bitunix.exchange.ratelimit import ENDPOINT_RATES


def _all() -> list[api.Endpoint]:
    return [v for v in vars(api).values() if isinstance(v, api.Endpoint)]


def test_every_endpoint_has_a_documented_rate() -> None:
    eps = _all()
    assert len(eps) == 34
    assert {e.path for e in eps} <= set(ENDPOINT_RATES)


def test_reads_are_retry_safe_and_public_ones_unsigned() -> None:
    for e in _all():
        if e.method == "GET":
            assert e.retry_safe, e.path
        else:
            assert e.signed, e.path
        if "/market/" in e.path or e.path.endswith("get_position_tiers"):
            assert not e.signed, e.path


def test_writes_that_could_double_an_effect_are_never_retried() -> None:
    never = {e.path.rsplit("/futures", 1)[1] for e in _all() if not e.retry_safe}
    assert never == {"/account/adjust_position_margin", "/trade/flash_close_position",
                     "/trade/close_all_position", "/tpsl/place_order"}
