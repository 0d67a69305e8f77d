"""A simulated machine: the firmware of a Class 4 therapy laser, stepped in simulated time.

The firmware emits only when armed (READY), the emission indicator has been lit for `emission_delay_s`,
the guarded footswitch is pressed, key, remote interlock, emergency stop, handpiece, temperature and
power are all fine, and the source's energy limit is not reached. Any of these failing stops emission
within the same firmware step. An interlock trip, an emergency stop, over-temperature and a power loss
latch a TRIPPED state that only a manual RESET clears (21 CFR 1040.10(f)(10)). A watchdog disarms the
machine when the host has been silent for `watchdog_s`. Every emission interval is logged.
`simserver.py` runs a Machine in real time over a link.
"""

import json
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from laserdose.device.faults import Fault
from laserdose.device.machine_io import MachineIO
from laserdose.device.protocol import Msg
from laserdose.domain.wavelengths import wavelength_key
from laserdose.machines.profile import DeviceProfile


@dataclass(frozen=True)
class MachineConfig:
    """Firmware constants of the simulated machine; all times in simulated seconds.

    Attributes:
        emission_delay_s: indicator lit this long before any emission [s]; typically 1-3 s [U].
        ramp_s: time for the output to rise from 0 to the set power [s] [U].
        watchdog_s: host silence after which the machine disarms [s].
        step_s: firmware step [s].
        temperature_limit_c: diode temperature that trips the machine [degC] [U].
        ambient_c: heatsink temperature at rest [degC] [U].
        heating_c_per_w: steady-state rise per watt of output [degC/W] [U].
        thermal_tau_s: thermal time constant of diode and heatsink [s] [U].
        calibration_error: largest relative error of the monitor photodiode's calibration [-] [U].
        noise_fraction: standard deviation of monitor noise relative to the power [-] [U].
        drift_per_s: relative monitor drift per second of emission [1/s] [U].
        footswitch_auto: press the footswitch whenever the machine is ready (demos and tests).
        repress_s: in auto mode, how long a released footswitch stays up [s].
        seed: seed of the monitor's calibration error and noise.
        faults: faults to inject, timed from the first emission.
    """

    emission_delay_s: float = 1.0
    ramp_s: float = 0.05
    watchdog_s: float = 0.5
    step_s: float = 0.01
    temperature_limit_c: float = 45.0
    ambient_c: float = 25.0
    heating_c_per_w: float = 1.0
    thermal_tau_s: float = 60.0
    calibration_error: float = 0.03
    noise_fraction: float = 0.01
    drift_per_s: float = 1e-5
    footswitch_auto: bool = True
    repress_s: float = 2.0
    seed: int = 0
    faults: tuple[Fault, ...] = ()


@dataclass
class SourceState:
    """One source's output and counters."""

    wavelength_nm: float
    calibration: float
    output_w: float = 0.0
    monitor_energy_j: float = 0.0
    true_energy_j: float = 0.0
    on_since_s: float | None = None
    interval: dict[str, float] = field(default_factory=dict)


class Machine(MachineIO):
    """The simulated firmware. Drive it with `handle(bytes)` (host frames) and `step(seconds)`."""

    def __init__(self, profile: DeviceProfile, config: MachineConfig, log: IO[str] | None = None) -> None:
        super().__init__(profile)
        self.config = config
        self.watchdog_s = config.watchdog_s
        self._rng = np.random.default_rng(config.seed)
        errors = self._rng.uniform(-config.calibration_error, config.calibration_error, len(profile.sources))
        self.sources = {
            s.wavelength_nm: SourceState(s.wavelength_nm, 1.0 + float(e))
            for s, e in zip(profile.sources, errors, strict=True)
        }
        self.t_s = 0.0
        self.state = "standby"  # standby | ready | emitting | tripped
        self.trip_reason = ""
        self.key_on = self.interlock_closed = self.handpiece_present = self.powered = True
        self.estop_pressed = self.footswitch = self.cooling_failed = self.link_dropped = False
        self.temperature_c = config.ambient_c
        self.armed_at_s = 0.0
        self.first_emission_s: float | None = None
        self.last_host_s = 0.0
        self.deviation = 1.0
        self.repress_at_s: float | None = None
        self.pending_faults = list(config.faults)
        self.log_lines: list[dict[str, Any]] = []
        self._log = log

    # -- time ---------------------------------------------------------------------------------------

    def step(self, duration_s: float) -> None:
        """Advance the firmware by `duration_s` simulated seconds."""
        end = self.t_s + duration_s
        while self.t_s < end - 1e-12:
            self._tick(min(self.config.step_s, end - self.t_s))

    def _tick(self, h: float) -> None:
        self._apply_due_faults()
        self._check_watchdog()
        self._check_safety()
        self._auto_footswitch()
        self._emit(h)
        self._heat(h)
        self.t_s += h

    @property
    def emitting(self) -> bool:
        """True while any source puts out light."""
        return any(s.output_w > 0.0 for s in self.sources.values())

    @property
    def indicator_lit(self) -> bool:
        """The emission indicator: lit whenever armed (before and during emission)."""
        return self.state in ("ready", "emitting")

    # -- safety -------------------------------------------------------------------------------------

    def _check_watchdog(self) -> None:
        if self.state in ("ready", "emitting") and self.t_s - self.last_host_s > self.config.watchdog_s:
            self.record_event("watchdog", f"host silent for {self.t_s - self.last_host_s:.3f} s")
            self.halt("watchdog", "standby")

    def _check_safety(self) -> None:
        if not self.powered:
            self.halt("power-loss", "tripped")
        elif self.state not in ("ready", "emitting"):
            return
        elif self.estop_pressed:
            self.halt("estop", "tripped")
        elif not self.interlock_closed:
            self.halt("interlock-open", "tripped")
        elif self.overheated():
            self.halt("overtemp", "tripped")
        elif not self.key_on:
            self.halt("key-off", "standby")
        elif not self.handpiece_present:
            self.halt("handpiece-removed", "standby")

    def halt(self, reason: str, next_state: str) -> None:
        """Stop emission now (shutter closed) and enter `next_state`; tripped states need a manual reset."""
        for source in self.sources.values():
            self._end_interval(source, reason, self.t_s)
        if next_state == "tripped" and self.state != "tripped":
            self.trip_reason = reason
            self.record_event("trip", reason)
        if next_state == "tripped" or self.state != "tripped":
            self.state = next_state
        self.footswitch = False  # a new emission needs a new press after re-arming (guarded footswitch)

    # -- emission -----------------------------------------------------------------------------------

    def _auto_footswitch(self) -> None:
        if self.repress_at_s is not None and self.t_s >= self.repress_at_s:
            self.repress_at_s = None
        if self.config.footswitch_auto and self.state == "ready" and self.repress_at_s is None:
            self.footswitch = True

    def _emit(self, h: float) -> None:
        params = self.params
        armed = self.state in ("ready", "emitting") and params is not None
        allowed = armed and self.footswitch and self.t_s - self.armed_at_s >= self.config.emission_delay_s
        for source in self.sources.values():
            key = wavelength_key(source.wavelength_nm)
            set_w = params["power_w"].get(key, 0.0) * params["duty_cycle"] if params else 0.0
            limit = params["energy_limit_j"].get(key, 0.0) if params else 0.0
            if allowed and set_w > 0.0 and source.monitor_energy_j < limit:
                self._run_source(source, set_w, limit, h)
            else:
                self._end_interval(
                    source, "footswitch" if armed and not self.footswitch else "limit", self.t_s
                )
        if self.state in ("ready", "emitting"):
            self.state = "emitting" if self.emitting else "ready"
        if (
            armed
            and params
            and all(
                s.monitor_energy_j >= params["energy_limit_j"].get(wavelength_key(s.wavelength_nm), 0.0)
                for s in self.sources.values()
            )
        ):
            self.record_event("dose-complete", "every source reached its energy limit")
            self.halt("dose-complete", "standby")

    def _run_source(self, source: SourceState, set_w: float, limit_j: float, h: float) -> None:
        if source.on_since_s is None:
            source.on_since_s = self.t_s
            source.interval = {"start_s": self.t_s, "m0": source.monitor_energy_j, "t0": source.true_energy_j}
            source.interval["set_power_w"] = set_w
            if self.first_emission_s is None:
                self.first_emission_s = self.t_s
        target = set_w * self.deviation
        rate = set_w / self.config.ramp_s if self.config.ramp_s > 0 else float("inf")
        source.output_w = min(target, source.output_w + rate * h) if source.output_w < target else target
        monitor_w = self.monitor_power(source)
        fraction = 1.0
        if monitor_w > 0 and h > 0 and source.monitor_energy_j + monitor_w * h >= limit_j:
            fraction = max(0.0, (limit_j - source.monitor_energy_j) / (monitor_w * h))
        source.true_energy_j += source.output_w * h * fraction
        source.monitor_energy_j += monitor_w * h * fraction
        if fraction < 1.0:
            self._end_interval(source, "limit", self.t_s + h * fraction)

    def monitor_power(self, source: SourceState) -> float:
        """What the monitor photodiode reads, before noise [W]: calibration error and drift included."""
        on_s = self.t_s - source.on_since_s if source.on_since_s is not None else 0.0
        return source.output_w * source.calibration * (1.0 + self.config.drift_per_s * on_s)

    def _end_interval(self, source: SourceState, reason: str, end_s: float) -> None:
        if source.on_since_s is None:
            source.output_w = 0.0
            return
        start = source.interval["start_s"]
        measured = source.monitor_energy_j - source.interval["m0"]
        entry = {
            "type": "emission",
            "wavelength_nm": source.wavelength_nm,
            "start_s": round(start, 6),
            "end_s": round(end_s, 6),
            "set_power_w": source.interval["set_power_w"],
            "measured_power_w": measured / (end_s - start) if end_s > start else 0.0,
            "measured_energy_j": measured,
            "true_energy_j": source.true_energy_j - source.interval["t0"],
            "end_reason": reason,
        }
        source.on_since_s, source.output_w, source.interval = None, 0.0, {}
        self.write_log(entry)
        self.push(Msg.MEASUREMENT, self.counters())  # the final counters of the interval, unsolicited

    def _heat(self, h: float) -> None:
        if self.cooling_failed:
            self.temperature_c = max(self.temperature_c, self.config.temperature_limit_c + 1.0)
            return
        total = sum(s.output_w for s in self.sources.values())
        steady = self.config.ambient_c + self.config.heating_c_per_w * total
        self.temperature_c += (steady - self.temperature_c) * h / self.config.thermal_tau_s

    def measurement(self, _: dict[str, Any] | None = None) -> tuple[bool, Any]:
        """The MEASUREMENT payload: monitor power (with noise), energy counters, temperature."""
        power, energy, emitting, on_s = {}, {}, {}, {}
        for source in self.sources.values():
            key = wavelength_key(source.wavelength_nm)
            reading = self.monitor_power(source)
            if reading > 0.0:
                reading = max(0.0, reading + self._rng.normal(0.0, self.config.noise_fraction * reading))
            power[key], energy[key] = reading, source.monitor_energy_j
            emitting[key] = source.output_w > 0.0
            on_s[key] = self.t_s - source.on_since_s if source.on_since_s is not None else 0.0
        return True, {
            "t_s": self.t_s,
            "state": self.state,
            "power_w": power,
            "energy_j": energy,
            "emitting": emitting,
            "on_s": on_s,
            "temperature_c": self.temperature_c,
        }

    def counters(self) -> dict[str, Any]:
        """Energy counters and emission flags without noise (the MEASUREMENT pushed at interval ends)."""
        return {
            "t_s": self.t_s,
            "power_w": {
                wavelength_key(s.wavelength_nm): self.monitor_power(s) for s in self.sources.values()
            },
            "energy_j": {wavelength_key(s.wavelength_nm): s.monitor_energy_j for s in self.sources.values()},
            "emitting": {wavelength_key(s.wavelength_nm): s.output_w > 0.0 for s in self.sources.values()},
            "temperature_c": self.temperature_c,
        }

    def new_session(self) -> None:
        """New parameters were accepted: the session's energy counters restart at 0 J (standby only)."""
        for source in self.sources.values():
            source.monitor_energy_j = source.true_energy_j = 0.0

    def overheated(self) -> bool:
        """True while the diode is above its temperature limit."""
        return self.temperature_c > self.config.temperature_limit_c

    # -- faults and log -----------------------------------------------------------------------------

    def _apply_due_faults(self) -> None:
        if self.first_emission_s is None:
            return
        while self.pending_faults and self.t_s - self.first_emission_s >= self.pending_faults[0].at_s - 1e-9:
            self.inject(self.pending_faults.pop(0))

    def inject(self, fault: Fault) -> None:
        """Make `fault` happen now."""
        # Logged for the tests, never announced to the host: the host must detect each fault itself.
        self.write_log({"type": "fault", "kind": fault.kind, "t_s": round(self.t_s, 6), "value": fault.value})
        if fault.kind == "interlock-open":
            self.interlock_closed = False
        elif fault.kind == "estop":
            self.estop_pressed = True
        elif fault.kind == "link-drop":
            self.link_dropped = True
        elif fault.kind == "power-deviation":
            self.deviation = 1.0 + (fault.value or 0.0)
        elif fault.kind == "overtemp":
            self.cooling_failed = True
            self.temperature_c = self.config.temperature_limit_c + 1.0
        elif fault.kind == "footswitch-release":
            self.footswitch = False
            self.repress_at_s = self.t_s + (fault.value if fault.value is not None else self.config.repress_s)
        elif fault.kind == "power-loss":
            self.powered = False
            self.params = None  # volatile settings are lost with the mains
        elif fault.kind == "handpiece-removed":
            self.handpiece_present = False
        self._check_safety()
        self._emit(0.0)

    def write_log(self, entry: dict[str, Any]) -> None:
        """Append `entry` to the emission log (memory, and the file if any, flushed)."""
        self.log_lines.append(entry)
        if self._log is not None:
            self._log.write(json.dumps(entry) + "\n")
            self._log.flush()

    def record_event(self, kind: str, detail: str) -> None:
        """Log an event and push it to the host as an EVENT frame."""
        self.write_log({"type": "event", "kind": kind, "t_s": round(self.t_s, 6), "detail": detail})
        self.push_event(kind, detail)
