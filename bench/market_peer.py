"""The public-market peer of the WebSocket benchmarks: a picows listener that greets like
the venue (``op: connect``), keeps its connections in ``live`` (the server pushes to them)
and answers a CLOSE by disconnecting. One definition for every forked market server."""

from __future__ import annotations

from typing import Any

from picows import WSListener, WSMsgType, WSTransport

__all__ = ["MarketPeer"]

_CONNECTED = b'{"op":"connect","data":{"result":true}}'


class MarketPeer(WSListener):
    """One client connection of a forked market server; ``live`` lists the open ones."""

    def __init__(self, live: list[WSTransport]) -> None:
        super().__init__()
        self.live = live

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.live.append(transport)
        transport.send(WSMsgType.TEXT, _CONNECTED)

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if transport in self.live:
            self.live.remove(transport)
