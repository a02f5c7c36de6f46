"""Tokens: made random, kept as their SHA-256, found in constant time; scopes nest; the
[api] section refuses what cannot be used, in one line naming the key (never the value
of a hash, which may be a pasted token)."""

from __future__ import annotations

import hashlib

import pytest

from bitunix.api.tokens import PREFIX, TokenTable, hash_token, level, new_token
from bitunix.config import load_config
from bitunix.config.api import ApiSection, ApiToken
from bitunix.core.errors import ConfigError


def _token(name: str, token: str, *scopes: str) -> ApiToken:
    return ApiToken(name=name, sha256=hash_token(token), scopes=list(scopes))


def test_a_new_token_is_random_and_its_hash_is_sha256_hex() -> None:
    a, b = new_token(), new_token()
    assert a != b
    assert a.startswith(PREFIX)
    assert len(a) == len(PREFIX) + 43
    assert hash_token(a) == hashlib.sha256(a.encode()).hexdigest()


def test_find_and_scopes() -> None:
    table = TokenTable([_token("r", "tok-r", "read"), _token("t", "tok-t", "trade"),
                        _token("a", "tok-a", "read", "admin")])
    reader, trader, admin = (table.find(t) for t in ("tok-r", "tok-t", "tok-a"))
    assert reader is not None
    assert trader is not None
    assert admin is not None
    assert (reader.name, trader.name, admin.name) == ("r", "t", "a")
    for missing in ("", "tok", "tok-r ", "x" * 201, hash_token("tok-r")):
        assert table.find(missing) is None
    assert [table.allows(reader, s) for s in ("read", "trade", "admin")] == [True, False,
                                                                             False]
    assert [table.allows(trader, s) for s in ("read", "trade", "admin")] == [True, True,
                                                                             False]
    assert [table.allows(admin, s) for s in ("read", "trade", "admin")] == [True, True, True]
    stranger = _token("r", "tok-r", "admin")  # equal, but not one of the table's
    assert not table.allows(stranger, "read")
    assert [level(s) for s in ("read", "trade", "admin")] == [0, 1, 2]


def test_the_section_refuses_what_cannot_be_used() -> None:
    good = {"name": "ci", "sha256": "a" * 64, "scopes": ["read"]}
    assert not ApiSection().enabled
    for tokens, key, words in (
        ([], "api.tokens", "needs at least one token"),
        ([{**good, "name": "a b"}], "api.tokens[0].name", "not a name"),
        ([good, {**good, "sha256": "b" * 64}], "api.tokens[1].name", "used twice"),
        ([good, {**good, "name": "x"}], "api.tokens[1].sha256", "same hash"),
        ([{**good, "scopes": []}], "api.tokens[0].scopes", "empty"),
        ([{**good, "scopes": ["read", "root"]}], "api.tokens[0].scopes", "'root'"),
        ([{**good, "sha256": "A" * 64}], "api.tokens[0].sha256", "64 lower-case hex"),
        ([{**good, "sha256": "a" * 63}], "api.tokens[0].sha256", "63 characters"),
    ):
        with pytest.raises(ConfigError) as err:
            load_config(None, {}, overrides={"api.enabled": True, "api.tokens": tokens})
        assert f"key {key}: " in str(err.value)
        assert words in str(err.value)


def test_a_pasted_token_is_not_echoed_in_the_error() -> None:
    token = new_token()
    with pytest.raises(ConfigError) as err:
        load_config(None, {}, overrides={"api.enabled": True, "api.tokens": [
            {"name": "ci", "sha256": token, "scopes": ["read"]}]})
    assert token not in str(err.value)
    assert "not shown" in str(err.value)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, {}, overrides={"api.tokens": [
            {"name": "ci", "sha256": "a" * 64, "scopes": ["read"], "token": "x"}]})
    assert "token" in str(err.value)
