"""Several processes on one port: the primary, which owns the machine, and page workers.

One Python process is bound by its interpreter lock to about one core. `laserdose serve --workers N` runs
the primary and N-1 page workers, each a process of its own listening on the same port (SO_REUSEPORT: the
kernel spreads connections over them), so the clinic's pages use every core. What lives in one process
stays in the primary: the consoles and their machine links, the guided power check, the login throttle,
the recovery of records cut off by a crash, and the audit checkpoints (a worker verifies the log too). A
worker hands every request for those (`PRIMARY_PATHS`) to the primary over a Unix socket readable by this
user only, with the client's address, and answers the rest itself from the shared database (sessions, the
audit chain and its lock live there). Fail safe: when the primary does not answer, a worker answers 503
and never reaches a machine.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("laserdose.web")

# Requests only the primary can answer: a console's pages, commands and event stream (the machine link is
# held there), the guided power check, login and token requests (one throttle), the admins' audit pages
# (a check on demand writes a checkpoint; its result is shown next). A test checks that every route using
# process-owned state matches.
PRIMARY_PATHS = re.compile(
    r"(/api/v1)?/(console|courses/[^/]+/console|machines/guided)(/.*)?|/login|/api/v1/token|/admin/audit.*"
)
CLIENT_HEADER = b"x-laserdose-client"  # the client's address, from a worker to the primary
ARRIVAL_HEADER = b"x-laserdose-arrived"  # when the worker received the request: time.monotonic()
ARRIVED_AT = "laserdose.arrived_at"  # its scope key on the primary (`ClientFromWorker`)
FROM_WORKER = (CLIENT_HEADER, ARRIVAL_HEADER)
# Hop-by-hop headers (RFC 9110 section 7.6.1 [RFC9110]) stay on their own connection.
HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"te", b"transfer-encoding", b"upgrade"}
# The primary's own Date and Server headers go; the worker's uvicorn writes its own.
ANSWER_OWN = HOP_BY_HOP | {b"date", b"server"}
RETRY_MS = 2000  # an event stream's browser asks again this long after the primary did not answer
RESTART_DELAY_S = 1.0  # between a worker's death and its replacement; doubled while they die young
YOUNG_S = 10.0  # a worker that dies younger than this is restarted after a longer delay


class PrimaryOnly:
    """In a page worker, what only the primary has (its consoles, ...): any use is an error, not a machine."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise RuntimeError(f"app.state.{self._name} lives in the primary process; route the request there")


def listening_socket(host: str, port: int, *, shared: bool) -> socket.socket:
    """The primary's TCP socket on `host`:`port` (0: any free port); `shared` with page workers or not.

    A shared socket (SO_REUSEPORT) lets any process of this user listen on the port as well, so the port is
    first taken alone: a second server on a port in use is refused, as without workers.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    if shared:
        port = sock.getsockname()[1]
        sock.close()
        return worker_socket(host, port)
    sock.listen(2048)
    return sock


def freeze_heap() -> None:
    """Leave what the process holds once its app is built out of every later garbage collection.

    The modules, the ORM's tables, the routes and the settings are about 260,000 objects, and a full
    collection scans them all: 130-185 ms with the interpreter lock held, every client of the process
    waiting, one to two times in an 8-second load run (docs/performance.md). Frozen, they are skipped
    ([PythonGC] gc.freeze); garbage is collected first so that none is kept for good.
    """
    gc.collect()
    gc.freeze()


def worker_socket(host: str, port: int) -> socket.socket:
    """A TCP socket on the primary's `host`:`port`: the kernel spreads new connections over them all."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def primary_socket(path: Path) -> socket.socket:
    """The primary's Unix socket for its workers, readable and writable by this user only."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    old_mask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_mask)
    sock.listen(256)
    return sock


class ClientFromWorker:
    """On the primary: the client's address and the arrival time a worker sent, over the Unix socket only.

    Only those requests have no peer address; on a TCP connection the headers are dropped, so no client
    can set them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "http":
            given = {name: value for name, value in scope["headers"] if name in FROM_WORKER}
            if given:
                scope = {**scope, "headers": [(n, v) for n, v in scope["headers"] if n not in FROM_WORKER]}
            if given and scope.get("client") is None:  # over the Unix socket: a worker's word
                host, _, port = given.get(CLIENT_HEADER, b"").decode("latin-1").rpartition(":")
                scope["client"] = (host, int(port)) if port.isdigit() else None
                with contextlib.suppress(ValueError):
                    arrived = float(given.get(ARRIVAL_HEADER, b""))
                    if math.isfinite(arrived):
                        scope[ARRIVED_AT] = arrived
        await self.app(scope, receive, send)


class ForwardToPrimary:
    """On a worker: hand requests for `PRIMARY_PATHS` to the primary, streaming both ways (event streams)."""

    def __init__(self, app: ASGIApp, socket_path: str) -> None:
        self.app = app
        self.socket_path = socket_path
        self._http: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http" or not PRIMARY_PATHS.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()  # a STOP after this refuses a start handed on now (H16)
        if self._http is None:  # made on the server's event loop (httpx imported by workers only)
            import httpx

            self._http = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.socket_path),
                timeout=httpx.Timeout(10.0, read=None),  # an event stream waits as long as the console runs
                # Idle connections closed well before the primary's (uvicorn: 5 s), never both at once.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=20, keepalive_expiry=1.0),
            )
            self._http.headers.clear()  # only the client's own headers reach the primary
        await self._forward(scope, receive, send, arrived)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, arrived: float) -> None:
        import httpx

        assert self._http is not None
        client = scope.get("client")
        headers = [(n, v) for n, v in scope["headers"] if n not in HOP_BY_HOP and n not in FROM_WORKER]
        headers.append((ARRIVAL_HEADER, repr(arrived).encode("latin-1")))
        if client:
            headers.append((CLIENT_HEADER, f"{client[0]}:{client[1]}".encode("latin-1")))
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])
        url = "http://primary" + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        body = _body(receive) if has_body else None
        request = self._http.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self._http.send(request, stream=True)
        except _ClientGone:
            return  # the client left during its upload: nothing reaches the primary's route
        except httpx.TransportError as exc:
            log.error("primary process not answering (%s): 503 for %s", type(exc).__name__, scope["path"])
            await _unavailable(scope, send)
            return
        try:
            start: Message = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(n, v) for n, v in response.headers.raw if n.lower() not in ANSWER_OWN],
            }
            await send(start)
            async with anyio.create_task_group() as tasks:
                # The client leaving ends the primary's stream too (a console's event stream never ends).
                tasks.start_soon(_cancel_on_disconnect, receive, tasks.cancel_scope)
                with contextlib.suppress(httpx.HTTPError):  # the primary went away mid-answer: end it here
                    async for chunk in response.aiter_raw():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tasks.cancel_scope.cancel()
        finally:
            await response.aclose()


class _ClientGone(Exception):
    """The client disconnected before its request's body was whole."""


async def _body(receive: Receive) -> Any:
    """The request's body as it arrives; a disconnect aborts the request rather than shortening it."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _unavailable(scope: Scope, send: Send) -> None:
    """503 with Retry-After; to an event stream, an empty stream that asks the browser to retry."""
    accept = dict(scope["headers"]).get(b"accept", b"")
    if b"text/event-stream" in accept:  # an EventSource gives up for good on any status but 200
        status, kind, body = 200, b"text/event-stream", f"retry: {RETRY_MS}\n\n".encode()
    else:
        status, kind = 503, b"text/plain; charset=utf-8"
        body = b"The clinic's main process is not answering; try again in a moment.\n"
    headers = [(b"content-type", kind), (b"retry-after", b"2"), (b"cache-control", b"no-store"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Workers:
    """The primary's page workers: started, restarted when one dies, stopped with the primary."""

    def __init__(self, count: int, host: str, port: int, folder: Path, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "laserdose.web.workers", "--host", host, "--port", str(port)]
        self._command = [*command, "--folder", str(folder)]
        self._env = env
        self._stopping = threading.Event()
        self._started: list[float] = []
        self._processes = [self._start(index) for index in range(count)]
        self._watch = threading.Thread(target=self._restart_dead, name="laserdose-workers", daemon=True)
        self._watch.start()

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        """Start worker `index`.

        The pipe on its standard input closes when the primary dies, however it dies, and the worker
        exits; its own session keeps Ctrl-C in the terminal for the primary.
        """
        self._started[index : index + 1] = [time.monotonic()]
        command = [*self._command, "--slot", str(index + 1)]  # slot 0 is the primary's
        return subprocess.Popen(command, env=self._env, stdin=subprocess.PIPE, start_new_session=True)

    def _restart_dead(self) -> None:
        delay_s = RESTART_DELAY_S
        while not self._stopping.wait(delay_s):
            for index, process in enumerate(self._processes):
                if process.poll() is None or self._stopping.is_set():
                    continue
                young = time.monotonic() - self._started[index] < YOUNG_S
                delay_s = min(2 * delay_s, 60.0) if young else RESTART_DELAY_S  # no loop of failing starts
                log.error("page worker %d exited with %s; starting another", process.pid, process.returncode)
                self._processes[index] = self._start(index)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to finish its requests and exit; kill those that do not in `timeout_s`."""
        self._stopping.set()
        self._watch.join()  # no replacement starts after this
        for process in self._processes:
            process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def page_workers(count: int, host: str, port: int, folder: Path, env: dict[str, str]) -> Iterator[None]:
    """`count` page workers while the block runs (none for 0), sharing the primary's `folder`.

    The folder (the primary's, this user's only) holds the primary's socket (`primary_socket_path`) and
    the processes' connection counts (`connection_slots`).
    """
    workers = Workers(count, host, port, folder, env) if count else None
    try:
        yield
    finally:
        if workers is not None:
            workers.stop()


def primary_socket_path(folder: Path) -> Path:
    """Where the primary listens for the requests its workers hand on."""
    return folder / "primary.sock"


def connection_slots(folder: Path) -> Path:
    """The file of the processes' connection counts (`laserdose.web.connection_balance`)."""
    return folder / "connections"


def _exit_with_parent(server: Any) -> None:
    """End the worker's server when its standard input closes: the primary has gone."""

    def wait() -> None:
        sys.stdin.buffer.read()
        server.should_exit = True

    threading.Thread(target=wait, name="laserdose-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """A page worker (started by `laserdose serve --workers N`; settings from the LASERDOSE_ environment)."""
    import httpx  # noqa: F401 - imported now, not on the event loop when the first STOP is handed on
    import uvicorn

    from laserdose.web.app import create_app
    from laserdose.web.connection_balance import ConnectionBalance

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True, help="the primary's (page_workers)")
    parser.add_argument("--slot", type=int, required=True, help="this worker's connection count slot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    forward = ForwardToPrimary(create_app(primary=False), str(primary_socket_path(args.folder)))
    app = ConnectionBalance(forward, connection_slots(args.folder), args.slot)
    config = uvicorn.Config(
        app, access_log=False, log_level="warning", timeout_graceful_shutdown=3, proxy_headers=False
    )
    server = uvicorn.Server(config)
    app.track(server)
    freeze_heap()
    _exit_with_parent(server)
    server.run(sockets=[worker_socket(args.host, args.port)])


if __name__ == "__main__":
    main()
