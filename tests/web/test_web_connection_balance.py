"""Connections spread over the server's processes: the middleware's rule, then the real server.

The rule: a process that holds more than an even share of all client connections, plus SLACK, sends
`Connection: close` with an answer. The end-to-end test opens 100 keep-alive connections to
`laserdose serve --workers 2`, sends requests on them until no answer asks for a reconnect, and counts
each process's established connections from /proc, not from the counts the processes publish.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_web_console_kill import database  # noqa: F401 - the fixture

from consolekit import child_processes, free_port, wait_for
from laserdose.web.connection_balance import SLACK, ConnectionBalance, create_slots

LASERDOSE = str(Path(sys.executable).with_name("laserdose"))


def _server(tcp: int, unix: int) -> SimpleNamespace:
    """A stand-in for uvicorn's server holding `tcp` client connections and `unix` from page workers."""
    peers = [("127.0.0.1", 40000 + n) for n in range(tcp)] + [""] * unix  # a Unix socket's peer: ""
    protocols = [SimpleNamespace(transport=SimpleNamespace(get_extra_info=lambda _, p=p: p)) for p in peers]
    return SimpleNamespace(server_state=SimpleNamespace(connections=protocols))


def _answer_headers(balance: ConnectionBalance) -> list[tuple[bytes, bytes]]:
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    balance.app = app
    with ThreadPoolExecutor(1) as thread:  # its own event loop: another test's may run in this thread
        thread.submit(asyncio.run, balance({"type": "http"}, None, send)).result()
    return list(sent[0]["headers"])


@pytest.mark.parametrize(
    ("held", "unix", "others", "closes"),
    [
        (28, 0, [22], True),  # 50 over two: a share of 25, and 28 > 25 + SLACK
        (26, 0, [24], False),  # within the slack
        (26, 10, [24], False),  # the page workers' Unix-socket connections are no clients
        (22, 0, [28], False),  # under its share: keeps every connection
        (19, 0, [16, 16], True),  # three processes: 51 / 3 = 17, 19 > 17 + SLACK
        (18, 0, [16, 16], False),  # 50 / 3 -> 17, 18 = 17 + SLACK
    ],
)
def test_a_process_over_its_share_asks_a_client_to_reconnect(tmp_path, held, unix, others, closes):
    slots = tmp_path / "connections"
    create_slots(slots, 1 + len(others))
    balance = ConnectionBalance(None, slots, 0)
    writer = ConnectionBalance(None, slots, 1)
    for index, count in enumerate(others, start=1):
        writer._slots[index] = count  # what the other processes published
    assert _answer_headers(balance) == [(b"content-length", b"0")]  # not tracking a server yet: no change
    balance.track(_server(held, unix))
    assert ((b"connection", b"close") in _answer_headers(balance)) is closes
    assert writer._slots[0] == held  # published for the others
    assert SLACK == 1


def _established(pid: int, port: int) -> int:
    """Client connections process `pid` holds on TCP `port` (Linux /proc: its sockets' inodes)."""
    inodes = _sockets(port, "01")  # 01: ESTABLISHED
    return sum(link in inodes for link in _fd_links(pid))


def _sockets(port: int, state: str) -> set[str]:
    """The fd link names ("socket:[inode]") of local TCP `port`'s sockets in `state` (/proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(f"socket:[{fields[9]}]")
    return inodes


def _fd_links(pid: int) -> list[str]:
    """What each open file descriptor of `pid` points to; one closed while we look is skipped."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except FileNotFoundError:  # closed between the listing and the read (a starting process)
            continue
    return links


def _get(sock: socket.socket, port: int) -> bool:
    """One GET on keep-alive `sock`; whether the server asked to close the connection."""
    sock.sendall(f"GET /static/app.css HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, body = answer.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"content-length: *(\d+)", head, re.IGNORECASE).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200")
    return re.search(rb"\r\nconnection: *close", head, re.IGNORECASE) is not None


def test_keep_alive_connections_end_up_evenly_spread(database):  # noqa: F811 - the fixture
    env = {**os.environ, "LASERDOSE_ENVIRONMENT": "test", "LASERDOSE_SECRET_KEY": "balance-" + "b" * 32,
           "LASERDOSE_DATABASE_URL": database}  # fmt: skip
    port, clients = free_port(), 100
    serve = [LASERDOSE, "serve", "--port", str(port), "--workers", "2"]
    primary = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sockets = []
    try:
        wait_for(lambda: len(child_processes(primary.pid)) == 1, 30, "the page worker")
        [worker] = child_processes(primary.pid)
        connect = lambda: socket.create_connection(("127.0.0.1", port), timeout=10)  # noqa: E731
        wait_for(lambda: connect().close() is None, 30, "serve --workers 2")  # raises until it listens
        wait_for(lambda: _established(worker, port) == 0 and _listening(worker, port), 30, "the worker")
        sockets = [connect() for _ in range(clients)]
        for _ in range(40):  # rounds: every client one request, a reconnect where asked
            closed = [n for n, sock in enumerate(sockets) if _get(sock, port)]
            for n in closed:
                sockets[n].close()
                sockets[n] = connect()
            if not closed:
                break
        else:
            raise AssertionError("the processes kept asking clients to reconnect")
        held = [_established(primary.pid, port), _established(worker, port)]
        assert sum(held) == clients
        assert max(held) <= clients // 2 + SLACK, held
    finally:
        for sock in sockets:
            sock.close()
        primary.terminate()
        primary.wait(20)


def _listening(pid: int, port: int) -> bool:
    inodes = _sockets(port, "0A")  # 0A: LISTEN
    return any(link in inodes for link in _fd_links(pid))
