"""Keep-alive connections spread evenly over the server's processes (`laserdose serve --workers N`).

The kernel hands each new connection to one of the processes on the port by a hash of its addresses
(SO_REUSEPORT), once: with 50 keep-alive clients one process may hold 28 and the other 22, and the first
then answers its clients about a quarter slower for as long as they stay connected (docs/performance.md).
Each process writes how many client connections it holds into its slot of a shared file; one that holds
more than its share (and SLACK more) sends `Connection: close` with an answer, so that the client opens a
new connection, which the kernel places afresh ([RFC9112] section 9.6: the server closes the connection
after that answer, and a client opens another for its next request). No answer is delayed or refused.
"""

from __future__ import annotations

import math
import mmap
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SLOT_BYTES = 4  # one int32 per process
# Connections a process may hold above an even share before it asks a client to reconnect: without it two
# processes with 25 and 25 would pass a connection to and fro as clients come and go.
SLACK = 1
CLOSE = (b"connection", b"close")


def create_slots(path: Path, processes: int) -> None:
    """Make the shared file of `processes` slots, all zero (the primary, before its workers start)."""
    path.write_bytes(bytes(SLOT_BYTES * processes))


def client_connections(server: Any) -> int:
    """The TCP connections uvicorn's `server` holds now (not the page workers' Unix-socket ones)."""
    return sum(
        isinstance(protocol.transport.get_extra_info("peername"), tuple)
        for protocol in server.server_state.connections
    )


class ConnectionBalance:
    """ASGI middleware: this process publishes its connection count and sheds connections above its share.

    `track(server)` tells it which uvicorn server's connections to count; until then it does nothing.
    """

    def __init__(self, app: ASGIApp, slots: Path, index: int) -> None:
        self.app, self.index = app, index
        with slots.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), 0)
        self._slots = memoryview(self._map).cast("i")
        self._server: Any = None

    def track(self, server: Any) -> None:
        """Count the connections of uvicorn `server` from now on."""
        self._server = server

    def over_share(self) -> bool:
        """Whether this process holds more than an even share of all client connections, plus SLACK."""
        if self._server is None:
            return False
        self._slots[self.index] = held = client_connections(self._server)
        return held > math.ceil(sum(self._slots) / len(self._slots)) + SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_balanced(message: Message) -> None:
            if message["type"] == "http.response.start" and self.over_share():
                message = {**message, "headers": [*message.get("headers", ()), CLOSE]}
            await send(message)

        await self.app(scope, receive, send_balanced)
