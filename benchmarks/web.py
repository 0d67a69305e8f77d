"""Web app throughput: requests per second and p95 latency with 50 concurrent clients on loopback.

Targets: the patient chart page (session cookie) and GET /api/v1/patients (bearer token), each against
SQLite and PostgreSQL (a private cluster, as the tests start it). The server runs in its own process
(`laserdose serve`, one uvicorn worker); the clients are asyncio tasks with httpx in this process.
Prints a table and writes out/bench-web.json.

    .venv/bin/python benchmarks/web.py [--seconds 5] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

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
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        "200",
        "--gil",
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
def server(url: str):
    port = free_port()
    env = {**audit_env(url), "LASERDOSE_ENVIRONMENT": "development"}
    # The server is its own process (one uvicorn worker); the load generator is this one.
    launcher = "from laserdose.cli.main import app; app()"
    command = [sys.executable, "-c", launcher, "serve", "--port", str(port), "--database-url", url]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/login").status_code == 200:
                    break
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


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


async def load(
    base: str, path: str, clients: int, seconds: float, **auth: dict[str, str]
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, **auth) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TransportError:  # e.g. a keep-alive connection the server just closed
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - begin
    p50_s, p95_s = (float(value) for value in np.percentile(latencies, [50, 95]))
    rps = len(latencies) / elapsed
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": rps,
        "p50_ms": 1000 * p50_s,
        "p95_ms": 1000 * p95_s,
    }


def cpu_s(pid: int) -> float:
    """User + system CPU time of process `pid` so far [s] (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_backend(
    name: str, url: str, clients: int, seconds: float, profile_dir: Path | None = None
) -> list[dict[str, object]]:
    passwords = seed(url)
    rows = []
    with server(url) as (base, pid):
        cookies, headers = credentials(base, passwords["clinician"])
        targets = [("chart page /patients/1", "/patients/1", {"cookies": cookies}),
                   ("API GET /api/v1/patients", "/api/v1/patients", {"headers": headers})]  # fmt: skip
        for label, path, auth in targets:
            stem = f"{name}-{path.strip('/').replace('/', '-')}.txt"
            with profiler(pid, profile_dir / stem if profile_dir else None):
                cpu_before_s = cpu_s(pid)
                result = asyncio.run(load(base, path, clients, seconds, **auth))
                # Server CPU per request: what the server needs, whatever else shares the machine.
                result["server_cpu_ms_per_request"] = 1000 * (cpu_s(pid) - cpu_before_s) / result["requests"]
            rows.append({"database": name, "target": label, "clients": clients, **result})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--profile", type=Path, default=None, help="folder for py-spy profiles of the server")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--label", default=None, help="also write benchmarks/results/web-LABEL.json")
    args = parser.parse_args()
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.only in (None, "sqlite"):
        sqlite_file = out / "bench-web.sqlite3"
        for stale in out.glob("bench-web.sqlite3*"):
            stale.unlink()
        rows += run_backend("sqlite", f"sqlite:///{sqlite_file}", args.clients, args.seconds, args.profile)
    if args.only in (None, "postgresql"):
        with private_postgres() as pg_url:
            rows += run_backend("postgresql", pg_url, args.clients, args.seconds, args.profile)
    print(f"{'database':<11} {'target':<26} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} "
          f"{'server CPU ms/req':>18}")  # fmt: skip
    for row in rows:
        cpu_ms = row["server_cpu_ms_per_request"]
        print(f"{row['database']:<11} {row['target']:<26} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} "
              f"{row['p95_ms']:>8.1f} {row['errors']:>7} {cpu_ms:>18.2f}")  # fmt: skip
    meta = {
        "cpu_count": os.cpu_count(),
        "seconds": args.seconds,
        "server": "laserdose serve, 1 uvicorn worker, its own process",
        "load_average_1_5_15": os.getloadavg(),
    }
    document = json.dumps({"meta": meta, "results": rows}, indent=2)
    (out / "bench-web.json").write_text(document)
    print(f"wrote {out / 'bench-web.json'}; load average (1, 5, 15 min) {meta['load_average_1_5_15']}")
    if args.label:
        (ROOT / "benchmarks" / "results" / f"web-{args.label}.json").write_text(document)


if __name__ == "__main__":
    main()
