"""Run independent tasks here or on a Dask cluster, and get their results back in input order.

A task is a module-level function applied to one picklable input that carries everything the task needs,
its own seed included, so a task's result depends on its input alone: not on the worker, its cores, the
order tasks run in, or a worker that died and whose tasks were run again elsewhere (Dask reschedules the
tasks of a lost worker). The same inputs therefore give the same results, bit for bit, in this process,
on a LocalCluster and on any cluster of machines with the same instruction set (the Numba kernel is
compiled for the host CPU, and fast-math contraction into FMA instructions follows it).

Where tasks run (`scheduler`):
- None: one after the other in this process; the Monte Carlo kernel uses this machine's threads.
- "local": a LocalCluster of worker processes on this machine, one task at a time per worker.
- "tcp://HOST:PORT" (or tls://): the Dask scheduler at that address (`dask scheduler`, `dask worker`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from laserdose.errors import InputError

In = TypeVar("In")
Out = TypeVar("Out")

LOCAL = "local"
ADDRESS_SCHEMES = ("tcp://", "tls://")
CONNECT_TIMEOUT_S = 20.0
# LocalCluster size: at most this many worker processes, fewer on a smaller machine.
MAX_LOCAL_WORKERS = 4

# One Monte Carlo run at a time in a process: a Dask worker may run several tasks in threads, and Numba's
# "workqueue" threading layer must not be entered from two threads at once (Numba docs, threading layers).
# Each run is parallel inside, so the worker's cores stay busy.
KERNEL_LOCK = threading.Lock()


def check_scheduler(scheduler: str | None) -> str | None:
    """Return `scheduler` if it is None, "local" or a tcp:// or tls:// address; else raise InputError."""
    if scheduler is None or scheduler == LOCAL:
        return scheduler
    if not isinstance(scheduler, str) or not scheduler.startswith(ADDRESS_SCHEMES):
        raise InputError(
            f"scheduler must be 'local' or a Dask scheduler address like tcp://HOST:8786, got {scheduler!r}"
        )
    return scheduler


def run_tasks(
    function: Callable[[In], Out],
    inputs: Sequence[In],
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Out]:
    """Apply `function` to every input, here or on a cluster (see the module docstring).

    Args:
        function: a module-level function (Dask pickles it by reference), pure in its input.
        inputs: one input per task.
        scheduler: None, "local" or a scheduler address.
        progress: called as progress(tasks_done, tasks_total) as tasks finish.

    Raises:
        InputError: a bad scheduler, no dask.distributed installed, or no scheduler at the address.
    """
    check_scheduler(scheduler)
    if scheduler is None:
        results = []
        for index, item in enumerate(inputs):
            results.append(function(item))
            if progress is not None:
                progress(index + 1, len(inputs))
        return results
    distributed = _import_distributed()
    with _Connection(distributed, scheduler) as client:
        return _gather_in_order(distributed, client, function, inputs, progress)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(
            "a Dask scheduler needs dask.distributed: pip install 'laserdose[distributed]'"
        ) from None
    return distributed


class _Connection:
    """A Dask client for `scheduler`, closed (with its LocalCluster, if any) on exit."""

    def __init__(self, distributed: Any, scheduler: str) -> None:
        self._distributed = distributed
        self._scheduler = scheduler
        self._cluster: Any = None
        self._client: Any = None

    def __enter__(self) -> Any:
        d = self._distributed
        if self._scheduler == LOCAL:
            self._cluster = d.LocalCluster(
                n_workers=_local_workers(), threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            self._client = d.Client(self._cluster)
            return self._client
        try:
            self._client = d.Client(self._scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {self._scheduler}: {exc}") from None
        return self._client

    def __exit__(self, *exc_info: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _local_workers() -> int:
    return max(1, min(MAX_LOCAL_WORKERS, os.cpu_count() or 1))


def _gather_in_order(
    distributed: Any,
    client: Any,
    function: Callable[[In], Out],
    inputs: Sequence[In],
    progress: Callable[[int, int], None] | None,
) -> list[Out]:
    # pure=False: every task runs, even two with equal inputs; results are keyed by position.
    futures = client.map(function, list(inputs), pure=False)
    position = {future.key: index for index, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for done, (future, result) in enumerate(distributed.as_completed(futures, with_results=True), start=1):
        results[position[future.key]] = result
        if progress is not None:
            progress(done, len(futures))
    return results
