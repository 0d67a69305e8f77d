"""`laserdose serve --workers N`: page workers answer pages; the primary alone runs the consoles.

The whole-system test starts the real server (primary + one worker) and then a page worker of its own on a
second port, so that every request to that port is a worker's: a treatment driven entirely through it
(login, connect, start, the event stream, STOP) reaches the machine only through the primary.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi.routing import APIRoute
from test_web_console_kill import PERIOD_S, _log_in, _watch_until_emitting, database  # noqa: F401 - the fixture

from consolekit import (
    child_processes,
    emission_log,
    free_port,
    post_console,
    signed_course,
    simulator,
    wait_for,
)
from laserdose.web.app import create_app
from laserdose.web.workers import ARRIVAL_HEADER, ARRIVED_AT, CLIENT_HEADER, PRIMARY_PATHS, ClientFromWorker

LASERDOSE = str(Path(sys.executable).with_name("laserdose"))
# What lives in one process: a route whose code (or a dependency's) touches it must go to the primary.
PROCESS_STATE = ("state.console", "qa_guided", "login_throttle", "attempt(", "check_now(")


def _reachable(function: object, seen: set[object]) -> Iterator[str]:
    """The source of `function` and of every function of the web package it names, however deep."""
    if not inspect.isfunction(function):
        return
    function = inspect.unwrap(function)
    if function in seen or not function.__module__.startswith("laserdose.web"):
        return
    seen.add(function)
    yield inspect.getsource(function)
    names, codes = set(), [function.__code__]
    while codes:
        code = codes.pop()
        names |= set(code.co_names)
        codes += [const for const in code.co_consts if inspect.iscode(const)]
    modules = [value for value in function.__globals__.values() if inspect.ismodule(value)]
    for name in names:
        for candidate in (function.__globals__.get(name), *(getattr(m, name, None) for m in modules)):
            yield from _reachable(candidate, seen)


def _route_source(route: APIRoute) -> str:
    seen: set[object] = set()
    parts = list(_reachable(route.endpoint, seen))
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        parts += _reachable(dependency.call, seen)
        pending += dependency.dependencies
    return "\n".join(parts)


def _api_routes(routes: list) -> Iterator[APIRoute]:
    """Every APIRoute of the app, inside the routers it includes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_route_using_process_state_goes_to_the_primary(webapp):
    owned = []
    for route in _api_routes(create_app(webapp.settings).routes):
        if any(needle in _route_source(route) for needle in PROCESS_STATE):
            owned.append(route.path)
            example = re.sub(r"\{[^}]+\}", "7", route.path)
            assert PRIMARY_PATHS.fullmatch(example), (
                f"{route.path} uses process state but a worker answers it"
            )
    # The check found the console, the guided power check, login and the token (it is not vacuous).
    assert {"/courses/{course_id}/console/start", "/machines/guided/start", "/login", "/api/v1/token"} <= set(
        owned
    )
    for busy in ("/patients/7", "/api/v1/patients", "/patients", "/day", "/courses/7/report.pdf"):
        assert not PRIMARY_PATHS.fullmatch(busy), busy


def _seen(scope: dict, headers: list[tuple[bytes, bytes]]) -> dict:
    """The scope an app behind ClientFromWorker sees for a request on `scope` carrying `headers`."""
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)

    request = {**scope, "type": "http", "headers": [(b"host", b"x"), *headers]}
    with ThreadPoolExecutor(1) as thread:  # its own event loop: another test's may run in this thread
        thread.submit(asyncio.run, ClientFromWorker(app)(request, None, None)).result()
    return seen


def test_only_a_worker_on_the_unix_socket_can_name_the_client_and_the_arrival():
    stamped = [(CLIENT_HEADER, b"10.0.0.9:5000"), (ARRIVAL_HEADER, b"1234.5")]
    # Over TCP (a peer address) the headers are a client's own: dropped, the peer address stays.
    seen = _seen({"client": ("10.0.0.7", 4000)}, stamped)
    assert seen["client"] == ("10.0.0.7", 4000) and ARRIVED_AT not in seen
    assert not {name for name, _ in seen["headers"]} & {CLIENT_HEADER, ARRIVAL_HEADER}
    # Over the primary's Unix socket (no peer address) they are the worker's word.
    seen = _seen({"client": None}, stamped)
    assert seen["client"] == ("10.0.0.9", 5000) and seen[ARRIVED_AT] == 1234.5
    assert not {name for name, _ in seen["headers"]} & {CLIENT_HEADER, ARRIVAL_HEADER}
    seen = _seen({"client": None}, [(ARRIVAL_HEADER, b"nan")])
    assert seen["client"] is None and ARRIVED_AT not in seen


def _folder(worker_pid: int) -> str:
    """The primary's folder (its socket, the connection counts) as given to its worker."""
    arguments = Path(f"/proc/{worker_pid}/cmdline").read_bytes().decode().split("\0")
    return arguments[arguments.index("--folder") + 1]


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_a_treatment_driven_through_a_page_worker(database):  # noqa: F811 - the fixture
    course_id = signed_course(database)
    env = {**os.environ, "LASERDOSE_ENVIRONMENT": "test", "LASERDOSE_SECRET_KEY": "workers-" + "w" * 32,
           "LASERDOSE_DATABASE_URL": database, "LASERDOSE_DEVICE_SIMULATOR": "true",
           "LASERDOSE_CONSOLE_PERIOD_S": str(PERIOD_S)}  # fmt: skip
    with simulator() as sim:
        env["LASERDOSE_DEVICE_URL"] = sim.address
        port, worker_port = free_port(), free_port()
        serve = [LASERDOSE, "serve", "--port", str(port), "--workers", "2"]
        primary = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        worker = None
        try:
            wait_for(
                lambda: _answers(port) and len(child_processes(primary.pid)) == 1, 30, "serve --workers 2"
            )
            [child] = child_processes(primary.pid)
            # A second server on the same port is refused, as without workers.
            second = subprocess.run([*serve[:-2]], env=env, capture_output=True, text=True, timeout=60)
            assert second.returncode == 2 and "cannot listen on" in second.stderr

            # A page worker on a port of its own: every request there is a worker's (it shares the
            # connection count of the primary's worker, which is killed below).
            command = [sys.executable, "-m", "laserdose.web.workers", "--host", "127.0.0.1"]
            command += ["--port", str(worker_port), "--folder", _folder(child), "--slot", "1"]
            worker = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
            wait_for(lambda: _answers(worker_port), 30, "the page worker")
            with httpx.Client(base_url=f"http://127.0.0.1:{worker_port}") as client:
                _log_in(client)  # the login (primary) and its session cookie (any process) work together
                assert client.get("/patients").status_code == 200  # the worker's own page
                for action in ("connect", "start"):
                    assert post_console(client, course_id, action).status_code == 303
                _watch_until_emitting(client, course_id, 30.0)  # streamed through the worker as it comes
                stopped = post_console(client, course_id, "stop")  # the console's answer, as JSON
                assert stopped.status_code == 200 and stopped.json()["reason"] == "stopped by operator"
                # The browser closed its event stream at the worker; the worker closes it at the primary.
                watchers = lambda: post_console(client, course_id, "stop").json()["watchers"]  # noqa: E731
                wait_for(lambda: watchers() == 0, 5, "the primary to see the stream closed")
                wait_for(lambda: not sim.machine.emitting, 2.0, "STOP through the worker")
                ends = [line for line in emission_log(sim) if line["type"] == "emission"]
                assert ends and not any(line.get("kind") == "watchdog" for line in emission_log(sim))

                # A dead worker is replaced; a dead primary takes its own workers with it.
                os.kill(child, signal.SIGKILL)
                wait_for(lambda: child_processes(primary.pid) not in ([], [child]), 10, "a new worker")
                [replacement] = child_processes(primary.pid)
                primary.send_signal(signal.SIGKILL)
                primary.wait(10)
                wait_for(lambda: not Path(f"/proc/{replacement}").exists(), 10, "the orphaned worker to exit")
                # Fail safe: the console is unreachable without the primary; the pages still answer.
                start = client.post(f"/courses/{course_id}/console/start", data={"csrf_token": "-"})
                for refused in (client.get(f"/courses/{course_id}/console"), start):
                    assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
                assert client.get("/patients").status_code == 200
        finally:
            for process in (worker, primary):
                if process is not None:
                    process.kill()
                    process.wait(10)


def test_page_threads_default_to_one_on_sqlite_and_two_on_postgresql(webapp):
    def threads(**settings: object) -> int:
        return create_app(webapp.settings.model_copy(update=settings)).state.page_threads

    assert threads() == 1  # the fixture's SQLite file
    assert threads(database_url="postgresql://clinic@127.0.0.1:1/none") == 2  # no connection is made
    assert threads(page_threads=3) == 3


def test_sigterm_stops_the_workers_and_removes_the_socket(database):  # noqa: F811 - the fixture
    env = {**os.environ, "LASERDOSE_ENVIRONMENT": "test", "LASERDOSE_SECRET_KEY": "workers-" + "w" * 32,
           "LASERDOSE_DATABASE_URL": database}  # fmt: skip
    port = free_port()
    serve = [LASERDOSE, "serve", "--port", str(port), "--workers", "2"]
    primary = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(port) and len(child_processes(primary.pid)) == 1, 30, "serve --workers 2")
        [child] = child_processes(primary.pid)
        folder = Path(_folder(child))
        primary.send_signal(signal.SIGTERM)
        assert primary.wait(20) == 128 + signal.SIGTERM
        assert not Path(f"/proc/{child}").exists() and not folder.exists()
    finally:
        primary.kill()
        primary.wait(10)


FREEZE_PROBE = """
import gc, sys, weakref
from laserdose.web.app import create_app
from laserdose.web.workers import freeze_heap

class Node: pass
app = create_app()
cycle = Node(); cycle.me = cycle  # garbage only a collection frees
gone = weakref.ref(cycle); del cycle
freeze_heap()
print(gc.get_freeze_count(), len(gc.get_objects()), gone() is None)
"""


def test_a_serving_process_leaves_its_built_app_out_of_later_collections(tmp_path):
    env = {**os.environ, "LASERDOSE_DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", FREEZE_PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    frozen, tracked, collected = done.stdout.split()
    # The app's objects are frozen (a full collection scanned all of them: 130-185 ms); what a collection
    # still scans is a small remainder; the garbage was collected first, not frozen for good.
    assert int(frozen) > 100_000 and int(tracked) < 0.02 * int(frozen), done.stdout
    assert collected == "True"
