"""The firmware's protocol side: decode host frames, answer with ACK/NAK, push events.

Kept apart from the physics in simulator.py. A repeated sequence number (a host retry) is answered from
the cache without acting twice. Only a valid host request (a host request type whose every field passed
requests.check_request) feeds the watchdog: a device-only frame (EVENT, ACK...) or a malformed request
is answered with NAK and leaves the watchdog running.
"""

from collections.abc import Callable
from typing import Any

from laserdose.device.protocol import Frame, FrameParser, Msg, ProtocolError, encode_frame, negotiate_version
from laserdose.device.requests import check_request
from laserdose.domain.plan import MAX_DURATION_S
from laserdose.domain.wavelengths import wavelength_nm
from laserdose.machines.profile import DeviceProfile, machine_limit_problem


class MachineIO:
    """Protocol handling mixed into the simulated Machine (which supplies the state it reads)."""

    # Supplied by Machine.
    t_s: float
    state: str
    trip_reason: str
    key_on: bool
    interlock_closed: bool
    estop_pressed: bool
    handpiece_present: bool
    powered: bool
    footswitch: bool
    link_dropped: bool
    temperature_c: float
    armed_at_s: float
    last_host_s: float
    watchdog_s: float
    time_scale: float = 1.0  # simulated seconds per wall-clock second (simserver sets it; 1 on a machine)

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self.params: dict[str, Any] | None = None
        self._parser = FrameParser()
        self._outbox = bytearray()
        self._event_seq = 0
        self._last: tuple[int, int, bool, bytes] | None = None

    def new_connection(self) -> None:
        """A host connected: forget the previous connection's partial bytes and retry cache."""
        self._parser = FrameParser()
        self._last = None

    # -- bytes in, bytes out ------------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes:
        """Feed bytes from the host; return the replies (and any queued events)."""
        if self.link_dropped:
            return b""
        replies = bytearray()
        for frame in self._parser.feed(data):
            if self._last is not None and self._last[:3] == (frame.seq, int(frame.msg), True):
                self.last_host_s = self.t_s
                replies.extend(self._last[3])  # a retry: same answer, no second action
                continue
            valid, reply = self._answer(frame)
            if valid:
                self.last_host_s = self.t_s
            self._last = (frame.seq, int(frame.msg), valid, reply)
            replies.extend(reply)
        return bytes(replies) + self.take_output()

    def take_output(self) -> bytes:
        """Unsolicited frames (events) queued since the last call."""
        if self.link_dropped:
            self._outbox.clear()
            return b""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def push_event(self, kind: str, detail: str) -> None:
        """Queue an EVENT frame for the host."""
        self.push(Msg.EVENT, {"kind": kind, "t_s": self.t_s, "detail": detail})

    def push(self, msg: Msg, payload: dict[str, Any]) -> None:
        """Queue an unsolicited frame (EVENT or MEASUREMENT) for the host."""
        self._event_seq = (self._event_seq + 1) % 256
        self._outbox.extend(encode_frame(Frame(self._event_seq, msg, payload)))

    def _answer(self, frame: Frame) -> tuple[bool, bytes]:
        """(whether `frame` is a valid host request, the ACK or NAK that answers it)."""
        handler = _HANDLERS.get(frame.msg)
        if handler is None:
            return False, _reply(frame.seq, False, f"{frame.msg.name} is not a host request")
        try:
            payload = check_request(frame.msg, frame.payload)
        except ProtocolError as exc:
            if frame.msg is Msg.STOP:  # a stop is obeyed whatever its reason field holds
                self.halt("stop: (malformed reason)", "standby")
            return False, _reply(frame.seq, False, f"bad {frame.msg.name}: {exc}")
        try:
            ok, result = handler(self, payload)
        except Exception as exc:  # noqa: BLE001 - a firmware bug must not kill the machine: fail safe
            self.halt("internal-error", "standby")
            ok, result = False, f"{frame.msg.name} failed ({type(exc).__name__}); emission stopped"
        return True, _reply(frame.seq, ok, result)

    # -- handlers: each returns (ok, data or reason) -------------------------------------------------

    def _hello(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        version = negotiate_version(payload["versions"])
        if version is None:
            return False, f"no common protocol version in {payload['versions']!r}"
        return True, {"version": version, "profile": self.profile.name, "model": self.profile.model,
                      "manufacturer": self.profile.manufacturer, "serial": "SIM-0001",
                      "watchdog_s": self.watchdog_s, "time_scale": self.time_scale}  # fmt: skip

    def status(self, _: dict[str, Any] | None = None) -> tuple[bool, Any]:
        """The machine state as STATUS reports it."""
        return True, {
            "t_s": self.t_s,
            "state": self.state,
            "trip_reason": self.trip_reason,
            "key_on": self.key_on,
            "interlock_closed": self.interlock_closed,
            "estop_pressed": self.estop_pressed,
            "handpiece_present": self.handpiece_present,
            "powered": self.powered,
            "footswitch": self.footswitch,
            "indicator": self.state in ("ready", "emitting"),
            "aiming_beam": self.state in ("ready", "emitting"),
            "params_set": self.params is not None,
            "temperature_c": self.temperature_c,
        }

    def _set_params(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        if self.state != "standby":
            return False, f"parameters can only be set in standby (machine is {self.state})"
        # A limit above what the machine can emit in one longest session is no limit at all.
        largest_j = self.profile.max_total_power_w * MAX_DURATION_S
        if any(v > largest_j for v in payload["energy_limit_j"].values()):
            return False, f"energy limits must be at most {largest_j:g} J"
        powers = {wavelength_nm(k): v for k, v in payload["power_w"].items()}
        problem = machine_limit_problem(
            self.profile, powers, payload["mode"], payload["frequency_hz"], payload["duty_cycle"],
            payload["handpiece"],
        )  # fmt: skip
        if problem:
            return False, problem
        self.params = dict(payload)
        self.new_session()  # the energy limits count from here: a second session starts from 0 J
        return True, {}

    def _read_back(self, _: dict[str, Any]) -> tuple[bool, Any]:
        return (True, dict(self.params)) if self.params is not None else (False, "no parameters set")

    def _arm(self, _: dict[str, Any]) -> tuple[bool, Any]:
        blockers = [
            (
                self.state != "standby",
                f"machine is {self.state}" + (f" ({self.trip_reason})" if self.trip_reason else ""),
            ),
            (self.params is None, "no parameters set"),
            (not self.key_on, "key switch off"),
            (not self.interlock_closed, "remote interlock open"),
            (self.estop_pressed, "emergency stop pressed"),
            (not self.handpiece_present, "no handpiece"),
            (not self.powered, "no power"),
            (self.overheated(), "over-temperature"),
        ]
        reasons = [reason for blocked, reason in blockers if blocked]
        if reasons:
            return False, "; ".join(reasons)
        self.state, self.armed_at_s, self.footswitch = "ready", self.t_s, False
        return True, {"armed_at_s": self.t_s}

    def _disarm(self, _: dict[str, Any]) -> tuple[bool, Any]:
        self.halt("disarm", "standby")
        return True, {}

    def _stop(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        self.halt(f"stop: {payload['reason']}", "standby")
        return True, {}

    def _heartbeat(self, _: dict[str, Any]) -> tuple[bool, Any]:
        return True, {"t_s": self.t_s}

    def _reset(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        if self.state != "tripped":
            return False, "nothing to reset"
        if not (self.interlock_closed and not self.estop_pressed and self.powered and not self.overheated()):
            return False, "cause of the trip still present"
        self.state, self.trip_reason = "standby", ""
        self.record_event("reset", f"manual reset by {payload['operator']}")
        return True, {}

    def _control(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        self.console(payload["action"])
        return True, {}

    def console(self, action: str) -> None:
        """A physical action at the machine (footswitch, key, interlock, e-stop, handpiece, mains)."""
        flag, value = {
            "footswitch-press": ("footswitch", True), "footswitch-release": ("footswitch", False),
            "key-on": ("key_on", True), "key-off": ("key_on", False),
            "interlock-open": ("interlock_closed", False), "interlock-close": ("interlock_closed", True),
            "estop-press": ("estop_pressed", True), "estop-release": ("estop_pressed", False),
            "handpiece-remove": ("handpiece_present", False), "handpiece-attach": ("handpiece_present", True),
            "power-restore": ("powered", True),
        }[action]  # fmt: skip
        if flag == "footswitch" and value and self.state != "ready":
            return  # the guarded footswitch only counts once armed
        setattr(self, flag, value)

    def measurement(self, _: dict[str, Any] | None = None) -> tuple[bool, Any]:
        """The MEASUREMENT payload: monitor power with noise, energy counters, temperature."""
        raise NotImplementedError

    # Implemented by Machine.
    def halt(self, reason: str, next_state: str) -> None:  # noqa: D102
        raise NotImplementedError

    def record_event(self, kind: str, detail: str) -> None:  # noqa: D102
        raise NotImplementedError

    def new_session(self) -> None:  # noqa: D102
        raise NotImplementedError

    def overheated(self) -> bool:  # noqa: D102
        raise NotImplementedError


def _reply(seq: int, ok: bool, result: Any) -> bytes:
    if ok:
        return encode_frame(Frame(seq, Msg.ACK, {"data": result}))
    return encode_frame(Frame(seq, Msg.NAK, {"reason": str(result)}))


_HANDLERS: dict[Msg, Callable[[Any, dict[str, Any]], tuple[bool, Any]]] = {
    Msg.HELLO: MachineIO._hello,
    Msg.STATUS: MachineIO.status,
    Msg.SET_PARAMS: MachineIO._set_params,
    Msg.READ_BACK: MachineIO._read_back,
    Msg.ARM: MachineIO._arm,
    Msg.DISARM: MachineIO._disarm,
    Msg.STOP: MachineIO._stop,
    Msg.HEARTBEAT: MachineIO._heartbeat,
    Msg.MEASURE: lambda machine, payload: machine.measurement(payload),
    Msg.RESET: MachineIO._reset,
    Msg.CONTROL: MachineIO._control,
}
