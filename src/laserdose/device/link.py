"""Byte links: the same frame code runs over TCP sockets, serial ports and (in tests) memory.

URLs: `tcp://HOST:PORT` and `serial:///dev/ttyX` (or any pyserial URL after `serial://`, e.g.
`serial://loop://` for pyserial's loopback).
"""

import socket
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlparse

from laserdose.errors import InputError, missing_extra

try:
    import serial
except ModuleNotFoundError as _missing:  # serial ports need laserdose[device]; TCP links do not
    serial = None
    _SERIAL_MISSING = _missing


class LinkError(OSError):
    """The link is broken: the peer is gone or does not answer."""


class Link(Protocol):
    """A bidirectional byte pipe."""

    def send(self, data: bytes) -> None:
        """Write all of `data`; raise LinkError if the link is broken."""

    def recv(self, timeout_s: float) -> bytes:
        """Bytes that arrived within `timeout_s` [s] (b"" if none); raise LinkError if the link is broken."""

    def close(self) -> None:
        """Release the link."""


class SocketLink:
    """A connected TCP socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames, no batching

    def send(self, data: bytes) -> None:
        """Write all of `data`."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise LinkError(f"tcp send failed: {exc}") from None

    def recv(self, timeout_s: float) -> bytes:
        """Bytes within `timeout_s` [s]; LinkError when the peer closed."""
        self._sock.settimeout(max(timeout_s, 1e-4))
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise LinkError(f"tcp receive failed: {exc}") from None
        if not data:
            raise LinkError("peer closed the connection")
        return data

    def close(self) -> None:
        """Close the socket."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class SerialLink:
    """A serial port (pyserial), or any pyserial URL such as `loop://`."""

    def __init__(self, port: "serial.SerialBase") -> None:
        self._port = port

    def send(self, data: bytes) -> None:
        """Write all of `data`."""
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"serial write failed: {exc}") from None

    def recv(self, timeout_s: float) -> bytes:
        """Bytes within `timeout_s` [s]."""
        try:
            self._port.timeout = max(timeout_s, 0.0)
            first = self._port.read(1)
            rest = self._port.read(self._port.in_waiting) if first else b""
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"serial read failed: {exc}") from None
        return bytes(first) + bytes(rest)

    def close(self) -> None:
        """Close the port."""
        self._port.close()


class MemoryLink:
    """An in-process link to a device object, for tests and the stepped simulator.

    `send` hands the bytes to `deliver`, which returns the device's answer; `recv` returns what the
    device has produced so far (including unsolicited frames it pushed through `push`).
    """

    synchronous = True  # the answer is there as soon as send returns

    def __init__(self, deliver: Callable[[bytes], bytes]) -> None:
        self._deliver = deliver
        self._inbox = bytearray()
        self.broken = False

    def push(self, data: bytes) -> None:
        """Queue bytes from the device to the host."""
        self._inbox.extend(data)

    def send(self, data: bytes) -> None:
        """Deliver `data` to the device at once."""
        if self.broken:
            raise LinkError("memory link cut")
        self._inbox.extend(self._deliver(data))

    def recv(self, timeout_s: float) -> bytes:
        """Everything queued; never waits (a silent device looks like a timeout)."""
        if self.broken:
            raise LinkError("memory link cut")
        data = bytes(self._inbox)
        self._inbox.clear()
        return data

    def close(self) -> None:
        """Mark the link broken."""
        self.broken = True


def parse_url(url: str) -> tuple[str, str, int]:
    """Split a link URL into (scheme, host-or-device, port); InputError if it is not tcp:// or serial://."""
    parsed = urlparse(url)
    if parsed.scheme == "tcp":
        if not parsed.hostname or parsed.port is None:
            raise InputError(f"device URL {url!r} must look like tcp://HOST:PORT")
        return "tcp", parsed.hostname, parsed.port
    if parsed.scheme == "serial":
        device = url[len("serial://") :]
        if not device:
            raise InputError(f"device URL {url!r} must look like serial:///dev/ttyX")
        return "serial", device, 0
    raise InputError(f"device URL {url!r}: scheme must be tcp:// or serial://")


def open_link(url: str, timeout_s: float = 5.0, baudrate: int = 115200) -> Link:
    """Connect to the device at `url` (the host side)."""
    scheme, where, port = parse_url(url)
    if scheme == "tcp":
        try:
            sock = socket.create_connection((where, port), timeout=timeout_s)
        except OSError as exc:
            raise LinkError(f"cannot connect to {url}: {exc}") from None
        return SocketLink(sock)
    if serial is None:
        raise missing_extra("device", _SERIAL_MISSING)
    try:
        return SerialLink(serial.serial_for_url(where, baudrate=baudrate, timeout=0))
    except (serial.SerialException, OSError, ValueError) as exc:
        raise LinkError(f"cannot open {url}: {exc}") from None


def listen_tcp(url: str) -> socket.socket:
    """A listening socket for the device side of `tcp://HOST:PORT`."""
    scheme, host, port = parse_url(url)
    if scheme != "tcp":
        raise InputError(f"listen URL {url!r} must be tcp://HOST:PORT")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(1)
    return server
