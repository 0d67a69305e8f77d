"""Host side of the protocol: requests with acknowledgement, retry and version negotiation."""

import time
from typing import Any

from laserdose.device.link import Link, LinkError
from laserdose.device.protocol import PROTOCOL_VERSIONS, Frame, FrameParser, Msg, encode_frame


class DeviceRefused(RuntimeError):
    """The device answered NAK: it will not do what was asked."""


class DeviceClient:
    """Sends requests and waits for the ACK/NAK with the same sequence number.

    A request not answered within `ack_timeout_s` is sent again with the same sequence number (the device
    answers a repeated sequence from its cache without acting twice), up to `retries` times; then the
    link counts as lost (LinkError). Unsolicited EVENT and MEASUREMENT frames are kept in `events`.
    """

    def __init__(self, link: Link, ack_timeout_s: float = 0.25, retries: int = 3) -> None:
        self.link = link
        self.ack_timeout_s = ack_timeout_s
        self.retries = retries
        self.events: list[Frame] = []
        self._parser = FrameParser()
        self._seq = 0
        self.version: int | None = None

    def request(self, msg: Msg, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send `msg` and return the ACK's data; DeviceRefused on NAK, LinkError when unanswered."""
        self._seq = (self._seq + 1) % 256
        raw = encode_frame(Frame(self._seq, msg, payload or {}))
        for _ in range(self.retries + 1):
            self.link.send(raw)
            reply = self._await(self._seq)
            if reply is not None:
                if reply.msg is Msg.NAK:
                    raise DeviceRefused(f"{msg.name} refused: {reply.payload['reason']}")
                data = reply.payload["data"]
                if not isinstance(data, dict):
                    raise LinkError(f"{msg.name}: malformed ACK")
                return data
        raise LinkError(f"no answer to {msg.name} after {self.retries + 1} tries")

    def _await(self, seq: int) -> Frame | None:
        deadline = time.monotonic() + self.ack_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            data = self.link.recv(max(remaining, 0.0))
            reply = None
            for frame in self._parser.feed(data):
                if frame.msg not in (Msg.ACK, Msg.NAK):
                    self.events.append(frame)
                elif frame.seq == seq:
                    reply = frame  # keep reading the batch: events may follow the reply
            if reply is not None:
                return reply
            if remaining <= 0 or (not data and getattr(self.link, "synchronous", False)):
                return None

    def hello(self) -> dict[str, Any]:
        """Negotiate the protocol version; returns the device's identity."""
        identity = self.request(Msg.HELLO, {"versions": list(PROTOCOL_VERSIONS)})
        version = identity.get("version")
        if version not in PROTOCOL_VERSIONS:
            raise DeviceRefused(
                f"device chose protocol version {version!r}; this host speaks {PROTOCOL_VERSIONS}"
            )
        self.version = int(version)
        return identity

    def take_events(self) -> list[Frame]:
        """The unsolicited frames received so far, oldest first; clears the list."""
        events, self.events = self.events, []
        return events
