"""The error table of spec 3.1 maps every code to its family, with context and no secrets."""

from __future__ import annotations

import pytest

from bitunix.core.errors import BitunixError
from bitunix.exchange import errors as e


@pytest.mark.parametrize(
    ("codes", "family"),
    [
        ((1, 404, 10002, 10008, 20016), e.BadRequestError),
        ((20001, 20012, 20015), e.SymbolUnavailableError),
        ((403, 10003, 10004), e.AuthError),
        ((10007,), e.SignatureError),
        ((10005, 10006), e.RateLimitError),
        ((10001,), e.NetworkError),
        ((20003, 20008), e.InsufficientBalanceError),
        ((20007,), e.OrderNotFoundError),
        ((30004,), e.PositionNotFoundError),
        ((30042,), e.DuplicateClientIdError),
        ((20011, 20013, 20014, 30040), e.AccountRestrictedError),
        ((20002, 20005, 20006, 30001, 30007, 30010, 30014, 30015, 30016, 30017, 30018, 30019,
          30020, 30037, 30038, 30039, 30041), e.OrderRejectedError),
    ],
)
def test_codes_map_to_families(codes: tuple[int, ...], family: type) -> None:
    for code in codes:
        err = e.error_for_code(code, None, endpoint="/x")
        assert isinstance(err, family), code
        assert type(err) is e.error_class(code)
        assert type(err).__name__ == f"Code{code}Error"
        assert isinstance(err, BitunixError)
        assert err.code == code
        assert err.message == e.CODES[code].meaning


def test_only_transient_codes_are_retryable() -> None:
    retryable = {c for c in e.CODES if e.error_for_code(c, "m").retryable}
    assert retryable == {10001, 10005, 10006}


def test_unknown_code_is_a_plain_non_retryable_error() -> None:
    err = e.error_for_code(10013, "Order status error", endpoint="/cancel", symbol="BTCUSDT")
    assert type(err) is e.ExchangeError
    assert e.error_class(10013) is e.ExchangeError
    assert not err.retryable
    assert str(err) == "[10013] Order status error (endpoint=/cancel, symbol=BTCUSDT)"
    assert str(e.error_for_code(12345, None)) == "[12345] unknown error"


def test_transport_errors() -> None:
    assert e.HttpStatusError(502, "bad gateway").retryable
    assert e.HttpStatusError(429, "slow down").retryable
    assert not e.HttpStatusError(404, "nope").retryable
    assert str(e.HttpStatusError(500, "x", endpoint="/a")) == "HTTP 500: x (endpoint=/a)"
    assert e.ExchangeTimeoutError("t").retryable
    assert not e.MalformedResponseError("m").retryable


def test_one_class_per_code_can_be_caught_exactly() -> None:
    with pytest.raises(e.error_class(30014)):
        raise e.error_for_code(30014, "max buy price")
    with pytest.raises(e.OrderRejectedError):
        raise e.error_for_code(30015, None)
    assert not issubclass(e.error_class(30015), e.error_class(30014))
    assert e.error_class(10006).retryable
