"""The machine survives any frame a host can send: every field checked for type and range before use.

Each host request type is fed payloads with huge integers (beyond a float's range), NaN, booleans,
strings, lists and nested objects in every field. The firmware must answer each with exactly one ACK or
NAK, keep no parameters from a refused SET_PARAMS, and go on answering.
"""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simkit import make_machine

from laserdose.device.protocol import Frame, FrameParser, Msg, encode_frame

GOOD_PARAMS = {
    "power_w": {"810": 6.0, "980": 4.0},
    "mode": "cw",
    "frequency_hz": 0.0,
    "duty_cycle": 1.0,
    "handpiece": "large-standoff",
    "energy_limit_j": {"810": 180.0, "980": 120.0},
}
HUGE = 10**400  # a valid JSON integer far beyond a float's range (float(HUGE) raises OverflowError)
BIG = 10**310  # beyond a float (~1.8e308) and short enough for one frame
HOST_REQUESTS = (Msg.HELLO, Msg.STATUS, Msg.SET_PARAMS, Msg.READ_BACK, Msg.ARM, Msg.DISARM, Msg.STOP,
                 Msg.HEARTBEAT, Msg.MEASURE, Msg.RESET, Msg.CONTROL)  # fmt: skip


def _raw(seq: int, msg: Msg, payload: dict) -> bytes:
    """A frame with a valid CRC whatever the payload holds (encode_frame checks only the keys)."""
    return encode_frame(Frame(seq, msg, payload))


def _answer(machine, raw: bytes) -> list[Frame]:
    return [f for f in FrameParser().feed(machine.handle(raw)) if f.msg in (Msg.ACK, Msg.NAK)]


@pytest.mark.parametrize(
    "change",
    [
        {"frequency_hz": HUGE},
        {"duty_cycle": HUGE},
        {"duty_cycle": -HUGE},
        {"power_w": {"810": HUGE, "980": 4.0}},
        {"energy_limit_j": {"810": HUGE, "980": 120.0}},
        {"power_w": {str(HUGE): 6.0}, "energy_limit_j": {str(HUGE): 1.0}},
        {"duty_cycle": True},
        {"frequency_hz": "0"},
        {"power_w": {"810": [6.0]}},
        {"power_w": [6.0, 4.0]},
        {"energy_limit_j": None},
        {"mode": ["cw"]},
        {"handpiece": {"name": "large-standoff"}},
        {"power_w": {"810": 6.0, "980": 4.0, "8.1e2": 1.0}},  # one source named twice
    ],
)
def test_set_params_with_a_bad_field_is_refused_and_the_machine_keeps_answering(profile, change):
    machine = make_machine(profile)
    reply = _answer(machine, _raw(1, Msg.SET_PARAMS, {**GOOD_PARAMS, **change}))
    assert [f.msg for f in reply] == [Msg.NAK]
    assert machine.params is None
    assert [f.msg for f in _answer(machine, _raw(2, Msg.HEARTBEAT, {}))] == [Msg.ACK]
    assert [f.msg for f in _answer(machine, _raw(3, Msg.SET_PARAMS, GOOD_PARAMS))] == [Msg.ACK]


@pytest.mark.parametrize(
    ("msg", "payload"),
    [
        (Msg.HELLO, {"versions": [HUGE]}),
        (Msg.HELLO, {"versions": "1"}),
        (Msg.STOP, {"reason": HUGE}),
        (Msg.STOP, {"reason": "x" * 900}),
        (Msg.RESET, {"operator": ["a"]}),
        (Msg.CONTROL, {"action": {"footswitch": "press"}}),
    ],
)
def test_other_requests_with_bad_fields_are_refused(profile, msg, payload):
    machine = make_machine(profile)
    assert [f.msg for f in _answer(machine, _raw(1, msg, payload))] == [Msg.NAK]
    assert [f.msg for f in _answer(machine, _raw(2, Msg.HEARTBEAT, {}))] == [Msg.ACK]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(HUGE) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(
    msg=st.sampled_from(HOST_REQUESTS),
    values=st.dictionaries(
        st.sampled_from(["versions", "reason", "operator", "action", *GOOD_PARAMS]), _json, max_size=8
    ),
)
def test_any_payload_gets_exactly_one_answer(profile, msg, values):
    machine = make_machine(profile)
    payload = {**dict.fromkeys(("versions", "reason", "operator", "action"), 0), **GOOD_PARAMS, **values}
    try:
        raw = _raw(7, msg, payload)
    except (ValueError, OverflowError):
        return  # too long for one frame, or not JSON (NaN keys): never on the wire
    reply = _answer(machine, raw)
    assert len(reply) == 1 and reply[0].seq == 7
    if msg is Msg.SET_PARAMS and reply[0].msg is Msg.ACK:
        held = machine.params
        assert held is not None
        assert all(isinstance(v, float) for v in held["power_w"].values())
        assert all(isinstance(v, float) for v in held["energy_limit_j"].values())
        json.dumps(held, allow_nan=False)  # only finite numbers are kept
    assert [f.msg for f in _answer(machine, _raw(8, Msg.HEARTBEAT, {}))] == [Msg.ACK]


def _emitting_machine(profile):
    machine = make_machine(profile)
    for seq, (msg, payload) in enumerate([(Msg.SET_PARAMS, GOOD_PARAMS), (Msg.ARM, {})], start=100):
        assert [f.msg for f in _answer(machine, _raw(seq, msg, payload))] == [Msg.ACK]
    for seq in range(15):  # through the 1 s emission delay, the host heartbeating every 0.1 s
        machine.step(0.1)
        _answer(machine, _raw(seq, Msg.HEARTBEAT, {}))
    assert machine.emitting and machine.state == "emitting"
    return machine


@pytest.mark.parametrize("reason", [HUGE, ["x"], "x" * 900])
def test_a_stop_with_a_malformed_reason_still_stops_emission(profile, reason):
    machine = _emitting_machine(profile)
    assert [f.msg for f in _answer(machine, _raw(50, Msg.STOP, {"reason": reason}))] == [Msg.NAK]
    assert not machine.emitting and machine.state == "standby"


_NOT_REQUESTS = [
    (Msg.EVENT, {"kind": "trip", "t_s": 0.0, "detail": "x"}),
    (Msg.MEASUREMENT, {"t_s": 0.0, "power_w": {}, "energy_j": {}, "temperature_c": 25.0, "emitting": {}}),
    (Msg.ACK, {"data": {}}),
    (Msg.NAK, {"reason": "x"}),
    (Msg.SET_PARAMS, {**GOOD_PARAMS, "frequency_hz": HUGE}),  # a request, but malformed
    (Msg.HELLO, {"versions": "1"}),
]


@pytest.mark.parametrize(("msg", "payload"), _NOT_REQUESTS)
def test_only_valid_host_requests_feed_the_watchdog(profile, msg, payload):
    # A host that sends only device-only frames or malformed requests is as good as silent: the watchdog
    # (0.5 s) must stop emission although frames keep arriving every 0.1 s for 4 watchdog periods.
    machine = _emitting_machine(profile)
    fed_at = machine.t_s
    for seq in range(20):
        machine.step(0.1)
        assert [f.msg for f in _answer(machine, _raw(seq, msg, payload))] == [Msg.NAK]
        if machine.t_s - fed_at > machine.config.watchdog_s + machine.config.step_s + 1e-9:
            assert not machine.emitting, f"emitting {machine.t_s - fed_at:.2f} s after the last request"
    assert machine.state == "standby"
    assert any(e["type"] == "event" and e["kind"] == "watchdog" for e in machine.log_lines)


def _tampering(machine, msg: Msg, change):
    """A line to `machine` whose ACKs to `msg` have their data changed by `change(data)`."""
    asked: dict[int, Msg] = {}

    def line(data: bytes) -> bytes:
        for frame in FrameParser().feed(data):
            asked[frame.seq] = frame.msg
        out = b""
        for frame in FrameParser().feed(machine.handle(data)):
            if frame.msg is Msg.ACK and asked.get(frame.seq) is msg and machine.emitting:
                frame = Frame(frame.seq, Msg.ACK, {"data": change(dict(frame.payload["data"]))})
            out += encode_frame(frame)
        return out

    return line


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "energy_j": dict.fromkeys(d["energy_j"], BIG)},
        lambda d: {**d, "power_w": dict.fromkeys(d["power_w"], -BIG)},
        lambda d: {**d, "t_s": BIG},
        lambda d: {**d, "on_s": dict.fromkeys(d["on_s"], BIG)},
        lambda d: {**d, "energy_j": dict.fromkeys(d["energy_j"], True)},
        lambda d: {**d, "temperature_c": [1]},
    ],
)
def test_the_host_survives_any_number_in_a_measurement(profile, plan, change):
    from laserdose.device.client import DeviceClient
    from laserdose.device.controller import Controller
    from laserdose.device.link import MemoryLink
    from laserdose.device.record import SessionRecord

    machine = make_machine(profile)
    client = DeviceClient(MemoryLink(_tampering(machine, Msg.MEASURE, change)), ack_timeout_s=0.0, retries=2)
    controller = Controller(plan, client, SessionRecord(), operator="A", profile=profile)
    outcome = controller.run(lambda: machine.step(0.1))
    assert outcome.state == "fault" and "internal error" not in outcome.reason, outcome.reason
    assert not machine.emitting
    assert not any(e["kind"] == "internal-error" for e in controller.record.entries)


@pytest.mark.parametrize("watchdog_s", [BIG, -BIG, True, "0.5", [0.5]])
def test_the_host_refuses_a_machine_reporting_a_watchdog_it_cannot_hold(profile, plan, watchdog_s):
    from laserdose.device.client import DeviceClient
    from laserdose.device.controller import Controller
    from laserdose.device.link import MemoryLink
    from laserdose.device.record import SessionRecord

    machine = make_machine(profile)

    def line(data: bytes) -> bytes:
        out = b""
        for frame in FrameParser().feed(machine.handle(data)):
            if frame.msg is Msg.ACK and "watchdog_s" in frame.payload["data"]:
                frame = Frame(
                    frame.seq, Msg.ACK, {"data": {**frame.payload["data"], "watchdog_s": watchdog_s}}
                )
            out += encode_frame(frame)
        return out

    client = DeviceClient(MemoryLink(line), ack_timeout_s=0.0)
    controller = Controller(plan, client, SessionRecord(), "A", profile=profile)
    outcome = controller.run(lambda: machine.step(0.1))
    assert outcome.state == "fault" and "no working watchdog" in outcome.reason, outcome.reason
    assert machine.state == "standby" and machine.params is None
