"""Wire protocol between the host (controller) and the machine (firmware or simulator).

A frame is::

    0xA5 | length (u16 BE) | sequence (u8) | type (u8) | payload (length bytes) | CRC-16 (u16 BE)

The CRC covers length, sequence, type and payload (everything between the start byte and the CRC) and is
CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR; check value 0x29B1 for
"123456789"), as catalogued by Greg Cook, "Catalogue of parametrised CRC algorithms" (reveng)
[Cook-CRC], where it is listed as CRC-16/IBM-3740. The payload is a UTF-8 JSON object whose keys are
checked per message type before anything acts on it. docs/device-protocol.md has the message table and
the sequences.
"""

import binascii
import json
import re
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

START_BYTE = 0xA5
HEADER = struct.Struct(">BHBB")  # start, payload length, sequence, type
CRC = struct.Struct(">H")
MAX_PAYLOAD = 1024  # bytes; a longer declared length is garbage, not a frame
PROTOCOL_VERSIONS = (1,)  # versions this code speaks, newest last


class ProtocolError(ValueError):
    """A frame or payload that must not be acted on."""


class Msg(IntEnum):
    """Message types. Host requests are answered by ACK (with data) or NAK carrying the same sequence."""

    HELLO = 0x01  # host -> device: {"versions": [..]}; ACK {"version", "model", "profile", "serial"}
    STATUS = 0x02  # host -> device: {}; ACK with the machine state
    SET_PARAMS = 0x03  # host -> device: powers, mode, frequency, duty, handpiece, energy limits
    READ_BACK = 0x04  # host -> device: {}; ACK with the parameters as the device holds them
    ARM = 0x05  # host -> device: {}; enter READY (indicator lit, emission after the delay)
    DISARM = 0x06  # host -> device: {}; back to STANDBY, emission off
    STOP = 0x07  # host -> device: {"reason"}; emission off at once and disarm
    HEARTBEAT = 0x08  # host -> device: {}; feeds the watchdog
    MEASURE = 0x09  # host -> device: {}; ACK with a MEASUREMENT payload
    RESET = 0x0A  # host -> device: {"operator"}; the manual reset after a trip (21 CFR 1040.10(f)(10))
    CONTROL = 0x0B  # console -> device: {"footswitch": "press"|"release"} etc.
    CALIBRATE = 0x0C  # service -> device: {"factors": {nm: factor}, "date", "operator"}; standby only
    METER = 0x0D  # host -> simulator: {}; ACK {"power_w"}: an external meter at the aperture (true output)
    EVENT = 0x20  # device -> host, unsolicited: {"kind", "t_s", "detail"}
    MEASUREMENT = 0x21  # device -> host, unsolicited: final counters at the end of each emission interval
    ACK = 0x30  # reply: {"data": {...}}
    NAK = 0x31  # reply: {"reason": "..."}


# Keys each payload must carry (value types checked loosely; the receiver validates ranges).
REQUIRED_KEYS: dict[Msg, tuple[str, ...]] = {
    Msg.HELLO: ("versions",),
    Msg.STATUS: (),
    Msg.SET_PARAMS: ("power_w", "mode", "frequency_hz", "duty_cycle", "handpiece", "energy_limit_j"),
    Msg.READ_BACK: (),
    Msg.ARM: (),
    Msg.DISARM: (),
    Msg.STOP: ("reason",),
    Msg.HEARTBEAT: (),
    Msg.MEASURE: (),
    Msg.RESET: ("operator",),
    Msg.CONTROL: ("action",),
    Msg.CALIBRATE: ("factors", "date", "operator"),
    Msg.METER: (),
    Msg.EVENT: ("kind", "t_s", "detail"),
    Msg.MEASUREMENT: ("t_s", "power_w", "energy_j", "temperature_c", "emitting"),
    Msg.ACK: ("data",),
    Msg.NAK: ("reason",),
}


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        seq: sequence number 0-255; a reply carries the sequence of its request.
        msg: message type.
        payload: the decoded JSON object, keys checked against REQUIRED_KEYS.
    """

    seq: int
    msg: Msg
    payload: dict[str, Any] = field(default_factory=dict)


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of `data` (poly 0x1021, init 0xFFFF, MSB first, no final XOR).

    binascii.crc_hqx is this CRC (the non-reflected CCITT polynomial) computed in C; started at 0xFFFF
    it gives the catalogued check value 0x29B1 for "123456789".
    """
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(frame: Frame) -> bytes:
    """Bytes on the wire for `frame`; raises ProtocolError if the payload is too long or incomplete."""
    check_payload(frame.msg, frame.payload)
    body = json.dumps(frame.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    if len(body) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(body)} bytes exceeds {MAX_PAYLOAD}")
    if not 0 <= frame.seq <= 255:
        raise ProtocolError(f"sequence must be 0-255, got {frame.seq}")
    head = HEADER.pack(START_BYTE, len(body), frame.seq, int(frame.msg))
    return head + body + CRC.pack(crc16_ccitt_false(head[1:] + body))


def check_payload(msg: Msg, payload: Any) -> None:
    """Raise ProtocolError unless `payload` is a JSON object with the keys `msg` requires."""
    if not isinstance(payload, dict):
        raise ProtocolError(f"{msg.name} payload must be an object")
    missing = [key for key in REQUIRED_KEYS[msg] if key not in payload]
    if missing:
        raise ProtocolError(f"{msg.name} payload lacks {', '.join(missing)}")


# Bytes that never occur in a JSON text [RFC8259] [S]: control characters are escaped inside strings, and
# only tab, newline, carriage return and space may stand between tokens. The high byte of every length
# up to MAX_PAYLOAD (0x00-0x04) is among them, which is what makes the parser's work linear.
_NOT_JSON = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TYPES = frozenset(int(m) for m in Msg)
_REJECT = None


class FrameParser:
    """Stream parser: feed it bytes as they arrive, get whole valid frames out.

    Garbage, frames with a bad CRC, unknown types or bad payloads are dropped; the parser then searches
    for the next start byte after the one it rejected, so one corrupted byte costs at most one frame.

    A candidate whose payload holds a byte that no JSON text contains is dropped as soon as that byte
    arrives, without waiting for the length it declares. The next frame's length field is such a byte, so
    a corrupted length byte costs only its own frame: the parser is back in step two bytes into the next
    one. The same rule bounds the work: a candidate is CRC-checked only when its payload is clean, and
    clean payloads of different candidates overlap by at most a few bytes, so each byte received is
    searched or CRC-checked a bounded number of times, whatever the input (`examined` counts the bytes).
    `rejected` counts dropped candidates (a link-quality figure).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._clean = 0  # payload bytes of the candidate at the buffer's start known free of non-JSON bytes
        self.rejected = 0
        self.examined = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Append `data` and return every complete valid frame now in the buffer, in order."""
        self._buffer.extend(data)
        frames: list[Frame] = []
        pos = 0
        while (start := self._buffer.find(START_BYTE, pos)) >= 0:
            if start != pos:
                self._clean = 0
            verdict = self._candidate(start)
            if verdict == "wait":
                pos = start
                break
            self._clean = 0
            if isinstance(verdict, tuple):
                frames.append(verdict[0])
                pos = verdict[1]
            else:
                self.rejected += 1
                pos = start + 1  # resynchronise: look for the next start byte after this one
        else:
            pos = len(self._buffer)
        del self._buffer[:pos]
        return frames

    def _candidate(self, start: int) -> tuple[Frame, int] | str | None:
        """The frame starting at `start` and its end, "wait" for more bytes, or None (_REJECT)."""
        buffer = self._buffer
        if len(buffer) - start < HEADER.size:
            return "wait"
        _, length, seq, msg_type = HEADER.unpack_from(buffer, start)
        if length > MAX_PAYLOAD or msg_type not in _TYPES:
            return _REJECT
        body = start + HEADER.size
        received = min(len(buffer), body + length)
        if body + self._clean < received:
            found = _NOT_JSON.search(buffer, body + self._clean, received)
            self.examined += (found.start() + 1 if found else received) - (body + self._clean)
            if found:
                return _REJECT
            self._clean = received - body
        end = body + length + CRC.size
        if len(buffer) < end:
            return "wait"
        self.examined += length + HEADER.size + CRC.size
        frame = _decode(bytes(buffer[start:end]), length, seq, msg_type)
        return _REJECT if frame is None else (frame, end)


def _decode(raw: bytes, length: int, seq: int, msg_type: int) -> Frame | None:
    """The frame in `raw`, or None if its CRC, type or payload is wrong."""
    (crc,) = CRC.unpack_from(raw, HEADER.size + length)
    if crc != crc16_ccitt_false(raw[1 : HEADER.size + length]):
        return None
    try:
        msg = Msg(msg_type)
        payload = json.loads(raw[HEADER.size : HEADER.size + length].decode("utf-8"))
        check_payload(msg, payload)
    except (ValueError, ProtocolError, RecursionError):
        return None
    return Frame(seq, msg, payload)


def negotiate_version(offered: Any) -> int | None:
    """The newest version in both `offered` and PROTOCOL_VERSIONS, or None if there is none."""
    if not isinstance(offered, list):
        return None
    common = [v for v in PROTOCOL_VERSIONS if v in offered and not isinstance(v, bool)]
    return max(common) if common else None
