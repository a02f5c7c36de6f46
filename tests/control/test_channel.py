"""The store channel: a request is taken once, in arrival order; the answer reaches the
command that asked; a withdrawn request never reaches the bot."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bitunix.control import ControlAnswer, ControlRequest, StoreChannel, new_request
from bitunix.control.channel import ANSWER_PREFIX, REQUEST_PREFIX
from bitunix.store import SqliteStore, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite"
    with SqliteStore(path) as s:
        s.set_state("risk_state", "{}")  # a key of the bot's beside the channel's
    return path


def _answer(request_id: str, ok: bool = True) -> ControlAnswer:
    return ControlAnswer(id=request_id, ok=ok, message="done", ts_ns=time.time_ns())


def test_requests_are_taken_once_in_order_and_answered(store: Path) -> None:
    with StoreChannel(store) as cmd, StoreChannel(store) as bot, \
            StoreChannel(store) as other_bot:
        assert not bot.pending()
        assert bot.take() == []
        first, second = new_request("pause"), new_request("resume")
        cmd.send(first)
        cmd.send(second)
        assert bot.pending()
        assert bot.take() == [first, second]
        assert other_bot.take() == []  # taken once
        assert cmd.answer_of(first.id) is None
        bot.answer(_answer(first.id))
        answer = cmd.answer_of(first.id)
        assert answer is not None
        assert answer.id == first.id
        assert cmd.answer_of(first.id) is None  # read once
        assert not cmd.withdraw(second.id)  # already taken by the bot
    with SqliteStore(store) as s:
        assert s.state("risk_state") == "{}"


def test_a_withdrawn_request_never_reaches_the_bot(store: Path) -> None:
    with StoreChannel(store) as cmd, StoreChannel(store) as bot:
        request = new_request("kill")
        cmd.send(request)
        assert cmd.withdraw(request.id)
        assert bot.take() == []


def test_wait_answer_returns_the_answer_or_none_after_the_timeout(store: Path) -> None:
    with StoreChannel(store) as cmd, StoreChannel(store) as bot:
        request = new_request("pause")
        cmd.send(request)
        start = time.monotonic()
        assert cmd.wait_answer("nobody", 0.1) is None
        assert 0.1 <= time.monotonic() - start < 2.0

        def serve() -> None:
            time.sleep(0.1)
            for item in bot.take():
                assert isinstance(item, ControlRequest)
                bot.answer(_answer(item.id, ok=False))

        thread = threading.Thread(target=serve)
        thread.start()
        answer = cmd.wait_answer(request.id, 5.0)
        thread.join()
        assert answer is not None
        assert not answer.ok


def test_an_unreadable_request_comes_back_with_its_id(store: Path) -> None:
    with StoreChannel(store) as cmd, StoreChannel(store) as bot:
        cmd._conn.execute("INSERT INTO state (key, value) VALUES (?, ?)",
                          (REQUEST_PREFIX + "bad-1", "{oops"))
        [item] = bot.take()
        assert isinstance(item, tuple)
        assert item[0] == "bad-1"
        assert "unreadable control request" in item[1]
        bot.answer(_answer("bad-1", ok=False))
        bot.answer(_answer("bad-1", ok=False))  # an answer may be rewritten
        row = cmd._conn.execute("SELECT COUNT(*) FROM state WHERE key = ?",
                                (ANSWER_PREFIX + "bad-1",)).fetchone()
        assert row == (1,)


def test_a_broken_store_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    with StoreChannel(path) as channel:  # no bitunix tables
        with pytest.raises(StoreError, match="control channel: no such table: state"):
            channel.send(new_request("pause"))
        with pytest.raises(StoreError, match="control channel"):
            channel.take()
    with SqliteStore(path):
        pass  # now it has the tables
    with StoreChannel(path) as a, StoreChannel(path, timeout_s=0.05) as b:
        a.send(new_request("pause"))
        a._conn.execute("BEGIN IMMEDIATE")  # another writer holds the store
        try:
            with pytest.raises(StoreError, match="control channel: database is locked"):
                b.take()
        finally:
            a._conn.execute("ROLLBACK")
        assert len(b.take()) == 1
