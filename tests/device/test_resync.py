"""The stream parser after a corrupted length byte, and its work on adversarial input.

A length byte changed in transit must cost that frame only (the next frame is found as soon as its first
two bytes arrive), and no input may make the parser do more than a few bytes of work per byte received.
Work is counted (bytes CRC-checked), not timed; benchmarks/parser.py times it.
"""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simkit import PLAN

from laserdose.device import protocol
from laserdose.device.client import DeviceClient
from laserdose.device.controller import Controller
from laserdose.device.link import MemoryLink
from laserdose.device.plan import plan_delivery
from laserdose.device.protocol import MAX_PAYLOAD, Frame, FrameParser, Msg, encode_frame
from laserdose.device.record import SessionRecord
from laserdose.device.simulator import Machine, MachineConfig


def _bitwise_crc(data: bytes) -> int:
    """CRC-16/CCITT-FALSE from its definition: poly 0x1021, init 0xFFFF, MSB first, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


@given(st.binary(max_size=300))
def test_crc_equals_its_bitwise_definition(data):
    assert protocol.crc16_ccitt_false(data) == _bitwise_crc(data)


def _with_length(raw: bytes, length: int) -> bytes:
    """`raw` with its length field replaced (CRC left as it was: a corrupted length byte)."""
    return raw[:1] + struct.pack(">H", length) + raw[3:]


@pytest.mark.parametrize("length", [1000, MAX_PAYLOAD, 300, 60])
def test_a_corrupted_length_costs_only_that_frame(length):
    bad = _with_length(encode_frame(Frame(1, Msg.HEARTBEAT, {})), length)
    good = encode_frame(Frame(2, Msg.STATUS, {}))
    assert FrameParser().feed(bad + good) == [Frame(2, Msg.STATUS, {})]
    parser = FrameParser()  # byte by byte: the good frame comes out with its last byte
    out = [f for byte in bad + good for f in parser.feed(bytes([byte]))]
    assert out == [Frame(2, Msg.STATUS, {})]


def test_a_retry_after_a_corrupted_length_is_answered(profile):
    machine = Machine(profile, MachineConfig())
    bad = _with_length(encode_frame(Frame(7, Msg.HELLO, {"versions": [1]})), 900)
    assert machine.handle(bad) == b""
    reply = FrameParser().feed(machine.handle(encode_frame(Frame(7, Msg.HELLO, {"versions": [1]}))))
    assert [(f.seq, f.msg) for f in reply] == [(7, Msg.ACK)]


def test_a_treatment_survives_a_corrupted_length_byte_on_the_way_to_the_machine(profile):
    # The host's retry (same frame, 0 s later in simulated time) must reach the machine; before resync
    # after a bad length, the machine stayed deaf until ~1 KB arrived and the host declared the link lost.
    plan = plan_delivery({**PLAN, "duration_s": 3, "total_energy_j": 30.0}, profile)
    machine = Machine(profile, MachineConfig())
    corrupted: list[bytes] = []  # the first try of three MEASURE frames, once emission runs

    def line(data: bytes) -> bytes:
        if machine.emitting and len(corrupted) < 3 and data[4] == Msg.MEASURE and data not in corrupted:
            corrupted.append(data)
            return machine.handle(_with_length(data, 700))
        return machine.handle(data)

    client = DeviceClient(MemoryLink(line), ack_timeout_s=0.0, retries=2)
    controller = Controller(plan, client, SessionRecord(), operator="test", profile=profile)
    outcome = controller.run(lambda: machine.step(0.1))
    assert len(corrupted) == 3
    assert outcome.completed, outcome.reason


def _adversarial() -> dict[str, bytes]:
    """Byte patterns that make many overlapping frame candidates with lengths near the maximum."""
    patterns = {
        "A5 03 ...": b"\xa5\x03" * 2000,  # a candidate every 2 bytes, length 0x03A5 = 933
        "A5 03 A5 01 {": b"\xa5\x03\xa5\x01\x7b" * 800,  # valid type bytes, payloads starting with {
        "A5 00 FF": b"\xa5\x00\xff\x01\x01" + b"\xa5\x00\xff\x01\x01" * 799,
        "A5 04 00 08": b"\xa5\x04\x00\x08" * 1000,
    }
    # Candidates of maximal length whose payload is clean JSON-looking text: one start every 6 bytes.
    patterns["clean text"] = (b"\xa5\x03\xff\x01\x03" + b'{"a":' * 200) * 4
    return patterns


@pytest.mark.parametrize("name", list(_adversarial()))
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_parser_work_is_linear_in_the_bytes_received(monkeypatch, name, chunk):
    counted = {"bytes": 0}
    real = protocol.crc16_ccitt_false

    def counting(data: bytes) -> int:
        counted["bytes"] += len(data)
        return real(data)

    monkeypatch.setattr(protocol, "crc16_ccitt_false", counting)
    data = _adversarial()[name]
    parser = FrameParser()
    for i in range(0, len(data), chunk):
        parser.feed(data[i : i + chunk])
    assert counted["bytes"] <= 3 * len(data) + MAX_PAYLOAD
    assert parser.examined <= 6 * len(data) + 2 * MAX_PAYLOAD


@given(st.lists(st.sampled_from([b"\xa5", b"\x00", b"\x01", b"\x03", b"\x04", b"{", b"}", b"a", b'"']),
                max_size=3000))  # fmt: skip
def test_parser_work_is_linear_for_any_mix_of_frame_like_bytes(chunks):
    data = b"".join(chunks)
    parser = FrameParser()
    parser.feed(data)
    assert parser.examined <= 6 * len(data) + 2 * MAX_PAYLOAD
