"""Run a simulated Machine in (scaled) real time behind a TCP port or a serial port.

Simulated time runs `time_scale` times faster than the wall clock; the watchdog is set in wall-clock
seconds of link silence and converted to simulated time, so a scaled run stops emission after the same
wall-clock silence as an unscaled one. One host connection at a time; when it goes away the machine
keeps running and its watchdog disarms it.
"""

import select
import socket
import threading
import time
from collections.abc import Callable

from laserdose.device.link import LinkError, SerialLink, SocketLink, listen_tcp, open_link, parse_url
from laserdose.device.simulator import Machine

TICK_WALL_S = 0.005  # wall-clock step of the server loop [s]


class SimulatorServer:
    """Serves `machine` on `url` until `stop()` is called (or the process ends)."""

    def __init__(self, machine: Machine, url: str, time_scale: float = 1.0) -> None:
        self.machine = machine
        self.url = url
        self.time_scale = time_scale
        machine.time_scale = time_scale  # HELLO reports it: the watchdog bound is in wall-clock seconds
        self.lock = threading.Lock()  # tests that poke the machine from another thread take it
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        scheme, _, _ = parse_url(url)
        if scheme == "tcp":
            self._listener = listen_tcp(url)

    @property
    def address(self) -> str:
        """The URL actually served (a tcp port 0 becomes the port chosen)."""
        if self._listener is None:
            return self.url
        host, port = self._listener.getsockname()[:2]
        return f"tcp://{host}:{port}"

    def stop(self) -> None:
        """Ask the serving loop to end."""
        self._stopped.set()

    def serve(self, on_idle: Callable[[], None] | None = None) -> None:
        """Serve until stopped; `on_idle` runs once per loop (for the CLI's progress)."""
        link: SocketLink | SerialLink | None = None
        if self._listener is None:
            opened = open_link(self.url)
            assert isinstance(opened, SerialLink)
            link = opened
        last = time.monotonic()
        while not self._stopped.is_set():
            if link is None and self._listener is not None:
                link = self._accept()
                if link is not None:
                    with self.lock:
                        self.machine.new_connection()
            data = b""
            if link is not None:
                try:
                    data = link.recv(TICK_WALL_S)
                except LinkError:
                    link.close()
                    link = None
            now = time.monotonic()
            with self.lock:
                self.machine.step((now - last) * self.time_scale)
                out = self.machine.handle(data) if data else self.machine.take_output()
            last = now
            if out and link is not None:
                try:
                    link.send(out)
                except LinkError:
                    link.close()
                    link = None
            if on_idle is not None:
                on_idle()
        if link is not None:
            link.close()
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> SocketLink | None:
        assert self._listener is not None
        ready, _, _ = select.select([self._listener], [], [], TICK_WALL_S)
        if not ready:
            return None
        sock, _ = self._listener.accept()
        return SocketLink(sock)
