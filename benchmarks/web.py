"""Web app throughput: requests per second and p95 latency with 50 concurrent clients on loopback.

Targets: the patient chart page (session cookie) and GET /api/v1/patients (bearer token), each against
SQLite and PostgreSQL (a private cluster flushing each commit to disk, as a clinic runs it). The server
runs in its own processes (`laserdose serve --workers N`, by default one per core); the load generator
(benchmarks/tools/web_load.py: keep-alive clients on asyncio streams, or httpx with --client httpx) runs
in another, separate from this orchestrating one too. Prints a table (requests/s, p50, p95, p99, errors,
server, database and client CPU ms per request, the load average at the time) and writes out/bench-web.json.

    .venv/bin/python benchmarks/web.py [--seconds 5] [--clients 50] [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from clinic_db import private_postgres  # noqa: E402 - the same throw-away cluster as the tests

AUDIT_DIR = Path(tempfile.mkdtemp(prefix="bench-web-audit-"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def audit_env(url: str) -> dict[str, str]:
    """The environment with an audit key and checkpoint file of this run's own, for `url`'s database."""
    folder = AUDIT_DIR / re.sub(r"[^A-Za-z0-9]+", "-", url)[-60:]
    folder.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "LASERDOSE_AUDIT_KEY_FILE": str(folder / "audit.key"),
            "LASERDOSE_AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl")}  # fmt: skip


def seed(url: str) -> dict[str, str]:
    """Migrate and seed the demo clinic through the CLI (as a user would); return its passwords."""
    launcher = "from laserdose.cli.main import app; app()"
    for command in (["db", "upgrade"], ["db", "seed-demo"]):
        done = subprocess.run([sys.executable, "-c", launcher, *command, "--database-url", url],
                              capture_output=True, text=True, check=True, env=audit_env(url))  # fmt: skip
    # "  clinician  password XYZ" lines
    return dict(line.split()[::2] for line in done.stdout.splitlines() if " password " in line)


@contextlib.contextmanager
def profiler(pid: int, path: Path | None):
    """Sample the server process with py-spy while the block runs (collapsed stacks to `path`)."""
    if path is None:
        yield
        return
    command = [
        shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        "200",
        "--gil",
        "--subprocesses",
        "-o",
        str(path),
    ]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
        spy.wait(timeout=30)


@contextlib.contextmanager
def server(url: str, workers: int, pin_cpu: int | None = None):
    port = free_port()
    # As a clinic runs it: production settings (templates are not re-read from disk on every page).
    env = {
        **audit_env(url),
        "LASERDOSE_ENVIRONMENT": "production",
        "LASERDOSE_SECRET_KEY": secrets.token_hex(32),
    }
    # The server is its own processes (`--workers`: the primary and its page workers); the load generator
    # runs in another.
    launcher = "from laserdose.cli.main import app; app()"
    command = [sys.executable, "-c", launcher, "serve", "--port", str(port), "--database-url", url]
    command += ["--workers", str(workers)]
    if pin_cpu is not None:  # the server on one core (Linux CPU affinity), the load generator free
        command = ["taskset", "-c", str(pin_cpu), *command]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/login").status_code == 200:
                    break
            time.sleep(0.1)
        while len(listeners(port)) < workers:  # the page workers start after the primary
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def listeners(port: int) -> set[int]:
    """The processes listening on TCP `port` of this host (Linux /proc: the sockets' inodes in their fds)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for fd_folder in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in fd_folder.iterdir()):
                pids.add(int(fd_folder.parent.name))
    return pids


def credentials(base: str, password: str) -> tuple[dict[str, str], dict[str, str]]:
    """Log in once; all clients share the session cookie and the bearer token."""
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        form = {"username": "clinician", "password": password, "csrf_token": token.group(1)}
        assert client.post("/login", data=form).status_code == 303
        cookies = dict(client.cookies)
        api = client.post("/api/v1/token", data={"username": "clinician", "password": password}).json()
    return cookies, {"Authorization": f"Bearer {api['access_token']}"}


def load(base: str, path: str, auth: dict[str, dict[str, str]], args: argparse.Namespace) -> dict[str, float]:
    """Run the load generator (benchmarks/tools/web_load.py) in a process of its own; return its figures."""
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "tools" / "web_load.py"),
        "--base",
        base,
        "--path",
        path,
    ]
    command += ["--clients", str(args.clients), "--seconds", str(args.seconds), "--client", args.client]
    command += [f"--header={name}: {value}" for name, value in auth.get("headers", {}).items()]
    command += [f"--cookie={name}={value}" for name, value in auth.get("cookies", {}).items()]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def warm_up(base: str, path: str, auth: dict[str, dict[str, str]], requests: int) -> None:
    """A few requests before the timed run: routes resolved, templates compiled, statements cached.

    The first request of a fresh server can take seconds on a busy machine (FastAPI resolves its routes
    on first use): a generous timeout. A new connection each time, so that every server process warms up.
    """
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, timeout=120, limits=fresh, **auth) as client:
        for _ in range(requests):
            client.get(path).raise_for_status()


def cpu_s(pid: int) -> float:
    """User + system CPU time of process `pid` and its child processes (page workers) so far [s] (Linux)."""
    children = [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own_s + sum(cpu_s(int(child)) for child in children)


def database_cpu_s() -> float:
    """User + system CPU time of this host's PostgreSQL server processes so far [s] (Linux; 0 without)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
            if name == "postgres":
                total += int(fields.split()[11]) + int(fields.split()[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[dict[str, object]]:
    """Seed `url`'s database, serve it, and load each target in turn."""
    profile_dir, save_dir = args.profile, args.save
    passwords = seed(url)
    rows = []
    with server(url, args.workers, args.pin_server) as (base, pid):
        cookies, headers = credentials(base, passwords["clinician"])
        targets = [("chart page /patients/1", "/patients/1", {"cookies": cookies}),
                   ("API GET /api/v1/patients", "/api/v1/patients", {"headers": headers})]  # fmt: skip
        for label, path, auth in targets:
            warm_up(base, path, auth, requests=20 * args.workers)
            stem = f"{name}-{path.strip('/').replace('/', '-')}.txt"
            with profiler(pid, profile_dir / stem if profile_dir else None):
                cpu_before_s, database_before_s = cpu_s(pid), database_cpu_s()
                result = load(base, path, auth, args)
                database_ms = 1000 * (database_cpu_s() - database_before_s)
                result["database_cpu_ms_per_request"] = database_ms / result["requests"]
                # Server CPU per request: what the server needs, whatever else shares the machine.
                result["server_cpu_ms_per_request"] = 1000 * (cpu_s(pid) - cpu_before_s) / result["requests"]
                result["load_average_1min"] = os.getloadavg()[0]
            if save_dir is not None:  # one answer of each, to compare content before and after a change
                with httpx.Client(base_url=base, **auth) as client:
                    (save_dir / stem.replace(".txt", ".out")).write_text(client.get(path).text)
            rows.append({"database": name, "target": label, "clients": args.clients, **result})
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    """One line per (database, target) with every figure."""
    print(f"{'database':<11} {'target':<26} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'server CPU ms/req':>17} {'database CPU ms/req':>19} "
          f"{'client CPU ms/req':>17} {'load 1m':>7}")  # fmt: skip
    for row in rows:
        print(f"{row['database']:<11} {row['target']:<26} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} "
              f"{row['p95_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['errors']:>6} "
              f"{row['server_cpu_ms_per_request']:>17.2f} {row['database_cpu_ms_per_request']:>19.2f} "
              f"{row['client_cpu_ms_per_request']:>17.2f} "
              f"{row['load_average_1min']:>7.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes (`serve --workers`)"
    )
    parser.add_argument("--profile", type=Path, default=None, help="folder for py-spy profiles of the server")
    parser.add_argument("--save", type=Path, default=None, help="folder for one answer of each target")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="see tools/web_load.py")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument(
        "--pin-server", type=int, default=None, metavar="CPU", help="run the server on this CPU only"
    )
    parser.add_argument("--label", default=None, help="also write benchmarks/results/web-LABEL.json")
    args = parser.parse_args()
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    for folder in (args.profile, args.save):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    rows = []
    if args.only in (None, "sqlite"):
        sqlite_file = out / "bench-web.sqlite3"
        for stale in out.glob("bench-web.sqlite3*"):
            stale.unlink()
        sqlite_url = f"sqlite:///{sqlite_file}"
        rows += run_backend("sqlite", sqlite_url, args)
    if args.only in (None, "postgresql"):
        with private_postgres(durable=True) as pg_url:
            rows += run_backend("postgresql", pg_url, args)
    print_table(rows)
    meta = {
        "cpu_count": os.cpu_count(),
        "seconds": args.seconds,
        "server": f"laserdose serve --workers {args.workers}, its own processes"
        + (f", pinned to CPU {args.pin_server}" if args.pin_server is not None else ""),
        "load_generator": f"benchmarks/tools/web_load.py --client {args.client}, its own process",
        "load_average_1_5_15_before": load_before,
        "load_average_1_5_15": os.getloadavg(),
    }
    document = json.dumps({"meta": meta, "results": rows}, indent=2)
    (out / "bench-web.json").write_text(document)
    print(f"wrote {out / 'bench-web.json'}; load average (1, 5, 15 min) before {load_before}, "
          f"after {meta['load_average_1_5_15']}")  # fmt: skip
    if args.label:
        (ROOT / "benchmarks" / "results" / f"web-{args.label}.json").write_text(document)


if __name__ == "__main__":
    main()
