"""The store channel: requests and answers as rows of the store's ``state`` table.

A request is the row ``control.request.<id>``; the bot takes it (reads and deletes it in
one ``BEGIN IMMEDIATE`` transaction, so a request is taken once) and writes
``control.answer.<id>``; the command that asked reads and deletes the answer. A command that
gives up withdraws its request; when the delete finds nothing, the bot had already taken it.

Both sides use their own connection with autocommit (not the store's write-behind queue):
a request must be visible to the bot the moment it is written, and an answer the moment
the work is done. The bot polls with one indexed ``SELECT`` per interval; the write
transaction happens only when a request is there.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from bitunix.control.messages import (
    ControlAnswer,
    ControlRequest,
    decode_answer,
    decode_request,
    encode,
)
from bitunix.core.errors import BitunixError
from bitunix.store.schema import StoreError
from bitunix.store.sqlite import connect

__all__ = ["ANSWER_PREFIX", "REQUEST_PREFIX", "StoreChannel"]

REQUEST_PREFIX = "control.request."
ANSWER_PREFIX = "control.answer."
# Keys are ids that start with the zero-padded request time: ORDER BY key is arrival order.
_RANGE_END = "\uffff"


class StoreChannel:
    """One side's connection to the channel of the store at ``path`` (see the module
    docs). ``timeout_s`` bounds how long a write waits for the store's writer."""

    def __init__(self, path: Path | str, *, timeout_s: float = 2.0) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, timeout_s=timeout_s)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> StoreChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the command's side ----------------------------------------------------------------

    def send(self, request: ControlRequest) -> None:
        """Write ``request`` for the bot."""
        self._execute("INSERT INTO state (key, value) VALUES (?, ?)",
                      (REQUEST_PREFIX + request.id, encode(request)))

    def answer_of(self, request_id: str) -> ControlAnswer | None:
        """The answer to ``request_id``, removed from the store (None: not there yet)."""
        key = ANSWER_PREFIX + request_id
        row = self._execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self._execute("DELETE FROM state WHERE key = ?", (key,))
        return decode_answer(str(row[0]))

    def wait_answer(self, request_id: str, timeout_s: float, *,
                    poll_s: float = 0.02) -> ControlAnswer | None:
        """Wait up to ``timeout_s`` for the answer (None: none came)."""
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self.answer_of(request_id)
            if answer is not None or time.monotonic() >= deadline:
                return answer
            time.sleep(poll_s)

    def withdraw(self, request_id: str) -> bool:
        """Remove an unanswered request; False when the bot had already taken it."""
        cur = self._execute("DELETE FROM state WHERE key = ?", (REQUEST_PREFIX + request_id,))
        return cur.rowcount == 1

    # -- the bot's side --------------------------------------------------------------------

    def pending(self) -> bool:
        """Whether any request waits (one cheap read)."""
        row = self._execute("SELECT 1 FROM state WHERE key > ? AND key < ? LIMIT 1",
                            (REQUEST_PREFIX, REQUEST_PREFIX + _RANGE_END)).fetchone()
        return row is not None

    def take(self) -> list[ControlRequest | tuple[str, str]]:
        """Every waiting request, oldest first, removed from the store; one that cannot be
        read comes as ``(id, why)`` so that it can still be answered."""
        if not self.pending():
            return []
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT key, value FROM state WHERE key > ? AND key < ? ORDER BY key",
                (REQUEST_PREFIX, REQUEST_PREFIX + _RANGE_END)).fetchall()
            conn.executemany("DELETE FROM state WHERE key = ?", [(k,) for k, _ in rows])
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):  # no transaction open: nothing to undo
                conn.execute("ROLLBACK")
            raise StoreError(f"store {self.path}: control channel: {exc}") from None
        out: list[ControlRequest | tuple[str, str]] = []
        for key, value in rows:
            try:
                out.append(decode_request(str(value)))
            except BitunixError as exc:
                out.append((str(key).removeprefix(REQUEST_PREFIX), str(exc)))
        return out

    def answer(self, answer: ControlAnswer) -> None:
        """Write the answer to a taken request."""
        self._execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                      "UPDATE SET value = excluded.value",
                      (ANSWER_PREFIX + answer.id, encode(answer)))

    def _execute(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: control channel: {exc}") from None
