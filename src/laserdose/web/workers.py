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
import logging
import os
import re
import socket
import subprocess
import sys
import threading
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
# Hop-by-hop headers (RFC 9110 section 7.6.1 [RFC9110]) stay on their own connection.
HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"te", b"transfer-encoding", b"upgrade"}
RESTART_DELAY_S = 1.0  # between a worker's death and its replacement: no busy loop of failing starts


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
    """On the primary: the client address a worker forwarded, for requests that came over the Unix socket.

    Only those have no peer address; on a TCP connection the header is dropped, so no client can set it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "http":
            forwarded = [value for name, value in scope["headers"] if name == CLIENT_HEADER]
            if forwarded:
                scope = {**scope, "headers": [(n, v) for n, v in scope["headers"] if n != CLIENT_HEADER]}
            if forwarded and scope.get("client") is None:
                host, _, port = forwarded[0].decode("latin-1").rpartition(":")
                scope["client"] = (host, int(port)) if port.isdigit() else None
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
        if self._http is None:  # made on the server's event loop (httpx imported by workers only)
            import httpx

            self._http = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.socket_path),
                timeout=httpx.Timeout(10.0, read=None),  # an event stream waits as long as the console runs
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
            )
        await self._forward(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        headers = [(n, v) for n, v in scope["headers"] if n not in HOP_BY_HOP and n != CLIENT_HEADER]
        if client:
            headers.append((CLIENT_HEADER, f"{client[0]}:{client[1]}".encode("latin-1")))
        url = "http://primary" + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        assert self._http is not None
        request = self._http.build_request(scope["method"], url, headers=headers, content=_body(receive))
        try:
            response = await self._http.send(request, stream=True)
        except _transport_errors() as exc:
            log.error("primary process not answering (%s): 503 for %s", type(exc).__name__, scope["path"])
            await _unavailable(send)
            return
        try:
            start: Message = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(n, v) for n, v in response.headers.raw if n.lower() not in HOP_BY_HOP],
            }
            await send(start)
            async with anyio.create_task_group() as tasks:
                # The client leaving ends the primary's stream too (a console's event stream never ends).
                tasks.start_soon(_cancel_on_disconnect, receive, tasks.cancel_scope)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tasks.cancel_scope.cancel()
        finally:
            await response.aclose()


def _transport_errors() -> type[Exception]:
    import httpx

    return httpx.TransportError


async def _body(receive: Receive) -> Any:
    """The request's body as it arrives."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _unavailable(send: Send) -> None:
    body = b"The clinic's main process is not answering; try again in a moment.\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"2"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Workers:
    """The primary's page workers: started, restarted when one dies, stopped with the primary."""

    def __init__(self, count: int, host: str, port: int, socket_path: Path, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "laserdose.web.workers", "--host", host, "--port", str(port)]
        self._command = [*command, "--primary-socket", str(socket_path)]
        self._env = env
        self._processes = [self._start() for _ in range(count)]
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._restart_dead, name="laserdose-workers", daemon=True)
        self._watch.start()

    def _start(self) -> subprocess.Popen[bytes]:
        # The pipe on its standard input closes when the primary dies, however it dies: the worker exits.
        # Its own session: Ctrl-C in the terminal reaches the primary, which then stops its workers.
        return subprocess.Popen(self._command, env=self._env, stdin=subprocess.PIPE, start_new_session=True)

    def _restart_dead(self) -> None:
        while not self._stopping.wait(RESTART_DELAY_S):
            for index, process in enumerate(self._processes):
                if process.poll() is not None and not self._stopping.is_set():
                    log.error(
                        "page worker %d exited with %s; starting another", process.pid, process.returncode
                    )
                    self._processes[index] = self._start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to finish its requests and exit; kill those that do not in `timeout_s`."""
        self._stopping.set()
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def page_workers(count: int, host: str, port: int, socket_path: Path, env: dict[str, str]) -> Iterator[None]:
    """`count` page workers while the block runs (none for 0)."""
    workers = Workers(count, host, port, socket_path, env) if count else None
    try:
        yield
    finally:
        if workers is not None:
            workers.stop()


def _exit_with_parent(server: Any) -> None:
    """End the worker's server when its standard input closes: the primary has gone."""

    def wait() -> None:
        sys.stdin.buffer.read()
        server.should_exit = True

    threading.Thread(target=wait, name="laserdose-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """A page worker (started by `laserdose serve --workers N`; settings from the LASERDOSE_ environment)."""
    import uvicorn

    from laserdose.web.app import create_app

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--primary-socket", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = ForwardToPrimary(create_app(primary=False), args.primary_socket)
    config = uvicorn.Config(
        app, access_log=False, log_level="warning", timeout_graceful_shutdown=3, proxy_headers=False
    )
    server = uvicorn.Server(config)
    _exit_with_parent(server)
    server.run(sockets=[worker_socket(args.host, args.port)])


if __name__ == "__main__":
    main()
