"""The simulator's key table: a rotated key trades the same account, a revoked key is
refused with 10003 on REST and on the private login; the public socket has no key."""

from __future__ import annotations

import pytest

from bitunix.exchange import BitunixWS, WsConfig
from bitunix.exchange.signing import Credentials
from bitunix.exchange.ws_handler import WsHandler
from bitunix.sim.auth import Authenticator, sign
from bitunix.sim.errors import SimError

NOW_MS = 1_700_000_000_000


def _headers(key: str, secret: str, nonce: str) -> dict[str, str]:
    ts = str(NOW_MS)
    return {"api-key": key, "nonce": nonce, "timestamp": ts,
            "sign": sign(key, secret, nonce, ts)}


def test_a_rotated_key_trades_the_same_account_and_a_revoked_one_is_refused() -> None:
    auth = Authenticator({"old": "old-secret"})
    auth.add_key("new", "new-secret", account="old")
    auth.add_key("other", "other-secret")
    assert auth.verify_rest(_headers("old", "old-secret", "n1"), (), b"", NOW_MS) == "old"
    assert auth.verify_rest(_headers("new", "new-secret", "n2"), (), b"", NOW_MS) == "old"
    assert auth.verify_rest(_headers("other", "other-secret", "n3"), (), b"", NOW_MS) == "other"
    auth.revoke("old")
    with pytest.raises(SimError) as rest:
        auth.verify_rest(_headers("old", "old-secret", "n4"), (), b"", NOW_MS)
    login = {"apiKey": "old", "timestamp": NOW_MS // 1000, "nonce": "n5",
             "sign": sign("old", "old-secret", "n5", str(NOW_MS // 1000))}
    with pytest.raises(SimError) as ws:
        auth.verify_login(login, NOW_MS)
    assert rest.value.code == ws.value.code == 10003
    assert "revoked" in rest.value.msg
    auth.add_key("old", "old-secret-2")  # a key given back is accepted again
    assert auth.verify_rest(_headers("old", "old-secret-2", "n6"), (), b"", NOW_MS) == "old"


async def test_the_public_socket_takes_no_credentials() -> None:
    ws = BitunixWS(WsHandler(), WsConfig())
    with pytest.raises(ValueError, match="no key"):
        ws.set_credentials(Credentials("k", "s"))
