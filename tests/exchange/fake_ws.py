"""A fake Bitunix WebSocket server on 127.0.0.1 (picows), scriptable from tests."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from picows import WSListener, WSMsgType, WSTransport, ws_create_server


@dataclass
class Received:
    t: float
    conn: int
    obj: Any


@dataclass
class Behaviour:
    send_connect: bool = True
    answer_pings: bool = True
    login_results: list[bool] = field(default_factory=list)  # consumed per login; default ok
    max_channels: int = 300
    answer_logins: bool = True


class _ServerConn(WSListener):
    def __init__(self, server: FakeWsServer) -> None:
        self.server = server
        self.transport: WSTransport | None = None
        self.id = len(server.conns)
        self.channels: list[dict[str, Any]] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.server.conns.append(self)
        self.server.connected.set()
        if self.server.behaviour.send_connect:
            self.send(b'{"op":"connect","data":{"result":true}}')

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, data)

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT:
            return
        obj = json.loads(frame.get_payload_as_bytes())
        self.server.received.append(Received(time.monotonic(), self.id, obj))
        b = self.server.behaviour
        op = obj.get("op")
        if op == "ping" and b.answer_pings:
            self.send(json.dumps({"op": "ping", "pong": obj["ping"], "ping": 1}).encode())
        elif op == "login" and b.answer_logins:
            ok = b.login_results.pop(0) if b.login_results else True
            data = {"result": True} if ok else {"result": False, "msg": "sign error"}
            self.send(json.dumps({"op": "login", "data": data}).encode())
        elif op == "subscribe":
            for arg in obj["args"]:
                if len(self.channels) >= b.max_channels:
                    self.send(b'{"op":"subscribe","data":{"msg":"subscribe channel > 300",'
                              b'"nonce":"","result":false}}')
                    break
                self.channels.append(arg)
            self.server.subscribed.set()
        elif op == "unsubscribe":
            for arg in obj["args"]:
                if arg in self.channels:
                    self.channels.remove(arg)
            self.send(b'{"op":"unsubscribe","ts":1,"data":"success"}')

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None


class FakeWsServer:
    """Start with :meth:`start`; push frames with :meth:`push`; drop clients with :meth:`kill`."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.conns: list[_ServerConn] = []
        self.received: list[Received] = []
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/public/"

    async def start(self) -> None:
        self._server = await ws_create_server(lambda _req: _ServerConn(self), "127.0.0.1",
                                              self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every client (a server restart's first half)."""
        assert self._server is not None
        self._server.close()
        self.kill(graceful=False)
        await self._server.wait_closed()
        self._server = None

    @property
    def live(self) -> list[_ServerConn]:
        return [c for c in self.conns if c.transport is not None]

    def push(self, *frames: bytes) -> None:
        for c in self.live:
            for f in frames:
                c.send(f)

    def push_fragmented(self, frame: bytes, parts: int = 3) -> None:
        """Send ``frame`` as one TEXT fragment followed by CONTINUATION fragments."""
        step = max(1, len(frame) // parts)
        chunks = [frame[i:i + step] for i in range(0, len(frame), step)]
        for c in self.live:
            assert c.transport is not None
            for i, chunk in enumerate(chunks):
                kind = WSMsgType.TEXT if i == 0 else WSMsgType.CONTINUATION
                c.transport.send(kind, chunk, fin=i == len(chunks) - 1)

    def push_binary(self, frame: bytes) -> None:
        for c in self.live:
            assert c.transport is not None
            c.transport.send(WSMsgType.BINARY, frame)

    def ping_clients(self) -> None:
        """A protocol-level PING (answered by picows' automatic PONG)."""
        for c in self.live:
            assert c.transport is not None
            c.transport.send_ping(b"hi")

    def kill(self, graceful: bool = True) -> None:
        for c in self.live:
            assert c.transport is not None
            if graceful:
                c.transport.send_close()
            c.transport.disconnect(graceful=False)

    def ops(self, op: str, conn: int | None = None) -> list[Received]:
        return [r for r in self.received
                if r.obj.get("op") == op and (conn is None or r.conn == conn)]
