"""The load generator of benchmarks/web.py: N closed-loop clients on one URL, in a process of its own.

Each client keeps one HTTP/1.1 connection, sends GET PATH, reads the whole answer and sends the next, for
--seconds. Prints one JSON object: requests, errors, requests per second, p50/p95/p99 latency [ms] and
this process's CPU time per request [ms] (what the load itself costs the shared machine).

The default client (`--client raw`) writes the request bytes and reads the answer by its Content-Length
on asyncio streams: about a tenth of httpx's CPU per request, which on two shared cores otherwise takes
CPU from the server it measures (`--client httpx` keeps the earlier generator for comparison).

    python benchmarks/tools/web_load.py --base http://127.0.0.1:8000 --path /api/v1/patients \
        --header 'Authorization: Bearer ...' [--cookie name=value] [--clients 50] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time

import httpx
import numpy as np


class Counts:
    """Latencies [s] and errors of one run."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0


async def raw_client(
    base: str, path: str, headers: dict[str, str], cookies: dict[str, str], stop: float, counts: Counts
) -> None:
    """One closed-loop client on its own keep-alive connection; reconnects after a dropped one."""
    host_port = base.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host_port}", *(f"{k}: {v}" for k, v in headers.items())]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    reader = writer = None
    while time.perf_counter() < stop:
        start = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            assert reader is not None
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            if length is None:  # these pages always carry a length; anything else counts as an error
                raise ConnectionError("answer without Content-Length")
            await reader.readexactly(int(length.group(1)))
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            counts.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        counts.latencies.append(time.perf_counter() - start)
        counts.errors += status != 200
        if re.search(rb"\r\nconnection: *close", head, re.IGNORECASE):
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def raw_load(
    base: str, path: str, clients: int, seconds: float, headers: dict[str, str], cookies: dict[str, str]
) -> Counts:
    """`clients` raw clients for `seconds`."""
    counts = Counts()
    stop = time.perf_counter() + seconds
    await asyncio.gather(*(raw_client(base, path, headers, cookies, stop, counts) for _ in range(clients)))
    return counts


async def httpx_load(
    base: str, path: str, clients: int, seconds: float, headers: dict[str, str], cookies: dict[str, str]
) -> Counts:
    """`clients` httpx clients (one shared connection pool) for `seconds`."""
    counts = Counts()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30, headers=headers, cookies=cookies
    ) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TransportError:  # e.g. a keep-alive connection the server just closed
                    counts.errors += 1
                    continue
                counts.latencies.append(time.perf_counter() - start)
                counts.errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(clients)))
    return counts


async def measure(
    args: argparse.Namespace, headers: dict[str, str], cookies: dict[str, str]
) -> dict[str, float]:
    """Run the chosen client and return the figures."""
    load = raw_load if args.client == "raw" else httpx_load
    cpu_before_s, begin = time.process_time(), time.perf_counter()
    counts = await load(args.base, args.path, args.clients, args.seconds, headers, cookies)
    elapsed_s, cpu_s = time.perf_counter() - begin, time.process_time() - cpu_before_s
    p50_s, p95_s, p99_s = (float(value) for value in np.percentile(counts.latencies, [50, 95, 99]))
    return {
        "requests": len(counts.latencies),
        "errors": counts.errors,
        "rps": len(counts.latencies) / elapsed_s,
        "p50_ms": 1000 * p50_s,
        "p95_ms": 1000 * p95_s,
        "p99_ms": 1000 * p99_s,
        "client_cpu_ms_per_request": 1000 * cpu_s / max(len(counts.latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="http://HOST:PORT")
    parser.add_argument("--path", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--cookie", action="append", default=[], help="'name=value'")
    args = parser.parse_args()
    headers = dict(item.split(": ", 1) for item in args.header)
    cookies = dict(item.split("=", 1) for item in args.cookie)
    try:
        import uvloop  # the same C event loop the server runs on, if installed

        run = uvloop.run
    except ModuleNotFoundError:
        run = asyncio.run
    print(json.dumps(run(measure(args, headers, cookies))))


if __name__ == "__main__":
    main()
