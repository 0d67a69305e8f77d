"""Frame format, CRC, parser resynchronisation, ack/retry and version negotiation, byte by byte."""

import json
import struct

from hypothesis import given
from hypothesis import strategies as st
from simkit import make_machine

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.link import MemoryLink
from laserdose.device.plan import set_params
from laserdose.device.protocol import Frame, FrameParser, Msg, crc16_ccitt_false, encode_frame


def test_crc_matches_the_published_check_value():
    # Check value of CRC-16/CCITT-FALSE (CRC-16/IBM-3740) for "123456789": 0x29B1
    # (Greg Cook, Catalogue of parametrised CRC algorithms).
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF  # the initial value, nothing shifted in


def test_frame_bytes_follow_the_documented_layout():
    # Built by hand from docs/device-protocol.md: A5 | len u16 BE | seq | type | JSON | CRC u16 BE.
    body = b'{"versions":[1]}'
    head = bytes([0xA5]) + struct.pack(">H", len(body)) + bytes([7, 0x01])
    expected = head + body + struct.pack(">H", crc16_ccitt_false(head[1:] + body))
    assert encode_frame(Frame(7, Msg.HELLO, {"versions": [1]})) == expected


def test_parser_resynchronises_after_garbage_and_bad_crc():
    good = encode_frame(Frame(1, Msg.HEARTBEAT, {}))
    corrupt = bytearray(encode_frame(Frame(2, Msg.ARM, {})))
    corrupt[-1] ^= 0xFF
    parser = FrameParser()
    frames = parser.feed(b"\x00\xa5\xa5garbage" + bytes(corrupt) + good)
    assert [(f.seq, f.msg) for f in frames] == [(1, Msg.HEARTBEAT)]
    assert parser.rejected >= 1


def test_parser_joins_a_frame_split_across_reads():
    raw = encode_frame(Frame(9, Msg.STATUS, {}))
    parser = FrameParser()
    assert parser.feed(raw[:3]) == [] and parser.feed(raw[3:-1]) == []
    assert parser.feed(raw[-1:]) == [Frame(9, Msg.STATUS, {})]


def test_scripted_exchange_with_the_firmware(profile):
    machine = make_machine(profile)
    reply = FrameParser().feed(machine.handle(encode_frame(Frame(5, Msg.HELLO, {"versions": [1]}))))
    assert reply[0].msg is Msg.ACK and reply[0].seq == 5 and reply[0].payload["data"]["version"] == 1
    reply = FrameParser().feed(machine.handle(encode_frame(Frame(6, Msg.ARM, {}))))
    assert reply[0].msg is Msg.NAK and "no parameters set" in reply[0].payload["reason"]
    reply = FrameParser().feed(machine.handle(encode_frame(Frame(7, Msg.HELLO, {"versions": [2, 3]}))))
    assert reply[0].msg is Msg.NAK and "no common protocol version" in reply[0].payload["reason"]


def test_retry_is_answered_from_cache_without_acting_twice(profile, plan):
    machine = make_machine(profile)
    drops = {"left": 1}

    def flaky(data: bytes) -> bytes:
        answer = machine.handle(data)
        if drops["left"] and FrameParser().feed(data)[0].msg is Msg.ARM:
            drops["left"] -= 1
            return b""  # the ACK is lost on the way back
        return answer

    client = DeviceClient(MemoryLink(flaky), ack_timeout_s=0.0, retries=2)
    client.hello()
    client.request(Msg.SET_PARAMS, set_params(plan))
    assert "armed_at_s" in client.request(Msg.ARM)  # a second ARM would be NAKed; the cached ACK is not
    assert machine.state == "ready"


def test_client_refuses_a_device_that_picks_an_unknown_version(profile):
    def liar(data: bytes) -> bytes:
        frame = FrameParser().feed(data)[0]
        return encode_frame(Frame(frame.seq, Msg.ACK, {"data": {"version": 9}}))

    client = DeviceClient(MemoryLink(liar), ack_timeout_s=0.0, retries=0)
    try:
        client.hello()
    except DeviceRefused as exc:
        assert "version 9" in str(exc)
    else:
        raise AssertionError("unknown version accepted")


@given(st.binary(max_size=600))
def test_parser_never_crashes_on_random_bytes(data):
    parser = FrameParser()
    for frame in parser.feed(data):
        assert isinstance(frame.msg, Msg)


@given(st.integers(0, 200), st.integers(1, 255), st.integers(0, 199))
def test_any_corrupted_byte_of_an_arm_frame_never_arms(profile, plan, position, flip, cut):
    # CRC-16 detects every burst error of at most 16 bits, so one changed byte is always caught.
    machine = make_machine(profile)
    machine.handle(encode_frame(Frame(1, Msg.SET_PARAMS, set_params(plan))))
    arm = bytearray(encode_frame(Frame(2, Msg.ARM, {})))
    arm[position % len(arm)] ^= flip
    machine.handle(bytes(arm) + encode_frame(Frame(3, Msg.HEARTBEAT, {}))[: cut % 12])
    machine.step(3.0)
    assert machine.state == "standby" and not machine.emitting


@given(st.lists(st.binary(max_size=80), max_size=8), st.binary(max_size=200))
def test_garbage_between_valid_frames_never_causes_emission(profile, plan, chunks, tail):
    machine = make_machine(profile)
    stream = b"".join(chunks) + encode_frame(Frame(1, Msg.SET_PARAMS, set_params(plan))) + tail
    machine.handle(stream)
    machine.step(2.0)
    assert not machine.emitting and machine.state in ("standby", "tripped")


def test_payload_is_json_object_checked_per_type():
    # A frame with a good CRC but a payload missing required keys is rejected, not acted on.
    body = json.dumps({"mode": "cw"}).encode()
    head = bytes([0xA5]) + struct.pack(">H", len(body)) + bytes([1, int(Msg.SET_PARAMS)])
    raw = head + body + struct.pack(">H", crc16_ccitt_false(head[1:] + body))
    parser = FrameParser()
    assert parser.feed(raw) == [] and parser.rejected == 1
