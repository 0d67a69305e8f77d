"""Reliability soak: generated fault sequences through the controller and the simulated firmware.

Each sequence is one short treatment (random powers, cw or pulsed) on the 15w-dual profile with one to
four disturbances at random simulated times: every firmware fault the simulator knows, key-off, an
operator stop, a host that dies (stops ticking, as after SIGKILL), a corrupted host frame, a lost reply
and random garbage bytes in both directions. Everything runs in simulated time in one process per worker
(controller period 0.1 s, firmware step 0.01 s, no sleeping), so a sequence is reproduced by its index.

Figures: emissions outside `emitting` (firmware ticks with light while the firmware is not emitting, and
control periods with light while the controller is not emitting, apart from the watchdog window after the
host or the link died; both must be 0), the worst stop latency per fault kind against its bound, and
the energy deviations (delivered vs planned for completed sessions; the machine's counter vs the record
for all). Prints a table and writes benchmarks/results/soak.json; exit 1 on any violation.

    PYTHONPATH=src python benchmarks/soak.py --sequences 100000 --workers 2
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from laserdose.cli.output import print_table
from laserdose.device.client import DeviceClient
from laserdose.device.controller import RAMP_ALLOWANCE_S, Controller
from laserdose.device.faults import Fault
from laserdose.device.link import MemoryLink
from laserdose.device.plan import plan_delivery
from laserdose.device.record import SessionRecord
from laserdose.device.recovery import recover
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.device.states import EMISSION_STATES, TERMINAL_STATES, IllegalTransition
from laserdose.domain.plan import Delivery
from laserdose.machines.profile import load_profile

PERIOD_S = 0.1  # controller period [simulated s]
CONFIG = MachineConfig(emission_delay_s=0.3)  # firmware step 0.01 s, watchdog 0.5 s
PROFILE = load_profile("15w-dual")
FIRMWARE_STOPS = ("interlock-open", "estop", "overtemp", "power-loss", "handpiece-removed", "key-off")
KINDS = (*FIRMWARE_STOPS, "power-deviation", "link-drop", "host-crash", "operator-stop",
         "footswitch-release", "corrupt-frame", "lost-reply", "garbage")  # fmt: skip
STOPPING = (*FIRMWARE_STOPS, "power-deviation", "link-drop", "host-crash", "operator-stop",
            "footswitch-release")  # fmt: skip
EPS = 1e-9
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None  # recovery records: memory, not disk


def bound_s(kind: str) -> float:
    """The documented stop latency of `kind` while the link and the host are alive [simulated s].

    Firmware faults stop in the same firmware step (the key switch at the next); an operator stop or
    a lifted foot at once; a power deviation is compared after the ramp allowance, at the next control
    period; a dead link or host leaves it to the watchdog, checked every firmware step.
    """
    if kind == "power-deviation":
        return RAMP_ALLOWANCE_S + 2 * PERIOD_S
    if kind in ("link-drop", "host-crash"):
        return CONFIG.watchdog_s + CONFIG.step_s
    if kind == "key-off":  # a switch the firmware reads at its next step
        return CONFIG.step_s
    return 0.0


class SoakMachine(Machine):
    """The simulated firmware, checked after every firmware step."""

    def __init__(self, config: MachineConfig) -> None:
        super().__init__(PROFILE, config)
        self.dark_violations = 0  # steps with light while the firmware state is not `emitting`
        self.on_watch: list[list[Any]] = []  # [kind, fault time, bound] of stops awaited
        self.latencies: list[tuple[str, float, float]] = []  # (kind, latency, bound applied)

    def _tick(self, h: float) -> None:
        start = self.t_s
        super()._tick(h)
        if self.emitting:
            if self.state != "emitting":
                self.dark_violations += 1
        elif self.on_watch:
            self.settle(start)

    def settle(self, off_s: float) -> None:
        """Emission is off since `off_s`: every awaited stop gets its latency."""
        for kind, at_s, bound in self.on_watch:
            self.latencies.append((kind, max(0.0, off_s - at_s), bound))  # bound > bound_s: host gone
        self.on_watch.clear()


class Line:
    """The memory link with the disturbances a serial line or a TCP connection can bring."""

    def __init__(self, machine: SoakMachine, rng: np.random.Generator) -> None:
        self.machine, self.rng = machine, rng
        self.corrupt_next = self.lose_next = False

    def __call__(self, data: bytes) -> bytes:
        if self.corrupt_next:
            self.corrupt_next = False
            bad = bytearray(data)
            bad[int(self.rng.integers(len(bad)))] ^= int(self.rng.integers(1, 256))
            data = bytes(bad)
        reply = self.machine.handle(data)
        if self.lose_next:
            self.lose_next = False
            return b""
        return reply


def make_plan(rng: np.random.Generator) -> Delivery:
    """A random short treatment within the 15w-dual's limits."""
    p810 = round(float(rng.uniform(0.5, 9.0)), 2)
    p980 = round(float(rng.uniform(0.5, 14.5 - p810)), 2)
    duration = round(float(rng.uniform(0.5, 2.0)), 2)
    pulsed = bool(rng.integers(2))
    duty = 0.5 if pulsed else 1.0
    data = {"decision": "treat", "device": "15w-dual", "handpiece": "large-standoff",
            "power_w_by_wavelength": {"810": p810, "980": p980}, "duration_s": duration,
            "mode": "pulsed" if pulsed else "cw",
            "total_energy_j": (p810 + p980) * duration * duty}  # fmt: skip
    if pulsed:
        data |= {"frequency_hz": 1000.0, "duty_cycle": duty}
    return plan_delivery(data, PROFILE)


class Sequence:
    """One treatment under generated disturbances, stepped in simulated time."""

    def __init__(self, index: int, seed: int) -> None:
        self.rng = np.random.default_rng([seed, index])
        self.plan = make_plan(self.rng)
        self.machine = SoakMachine(replace(CONFIG, seed=index))
        self.line = Line(self.machine, self.rng)
        client = DeviceClient(MemoryLink(self.line), ack_timeout_s=0.0, retries=2)
        self.controller = Controller(self.plan, client, SessionRecord(), operator="soak", profile=PROFILE)
        end = CONFIG.emission_delay_s + self.plan.duration_s + 0.5
        count = int(self.rng.integers(1, 5))
        self.events = sorted(
            (float(self.rng.uniform(0.0, end)), str(self.rng.choice(KINDS))) for _ in range(count)
        )
        self.host_alive = True
        self.link_dead_at: float | None = None  # when the host lost the machine (link drop or crash)
        self.ended_at: float | None = None
        self.late_light = 0  # control periods with light while the controller is not emitting (excused)
        self.violations = 0  # the same, not excused

    def run(self) -> dict[str, Any]:
        """Deliver under the disturbances, then let every watchdog run out."""
        self.controller.prepare()
        end = CONFIG.emission_delay_s + self.plan.duration_s / 0.8 + 2.0
        t_s, pending = 0.0, list(self.events)
        while t_s < end:
            boundary = t_s + PERIOD_S
            while pending and pending[0][0] < boundary:
                at_s, kind = pending.pop(0)
                self.machine.step(max(0.0, at_s - self.machine.t_s))
                self.disturb(kind)
            self.machine.step(boundary - self.machine.t_s)
            if self.host_alive and self.controller.state not in TERMINAL_STATES:
                try:
                    self.controller.tick()
                except IllegalTransition:
                    pass
            self.check()
            t_s = boundary
            if not pending and self.quiet():
                break
        if not self.machine.emitting:
            self.machine.settle(self.machine.t_s)
        return self.result()

    def quiet(self) -> bool:
        """Nothing more can happen: the controller is done (or gone) and the machine is disarmed."""
        machine = self.machine
        done = self.controller.state in TERMINAL_STATES or not self.host_alive
        return done and not machine.emitting and machine.state in ("standby", "tripped")

    def disturb(self, kind: str) -> None:
        machine, controller = self.machine, self.controller
        emitting = machine.emitting
        if kind in ("interlock-open", "estop", "overtemp", "power-loss", "handpiece-removed", "link-drop"):
            machine.inject(Fault(kind, 0.0))
        elif kind == "power-deviation":
            machine.inject(Fault(kind, 0.0, float(self.rng.choice([0.3, 0.5, 1.0, -0.5, -0.9]))))
        elif kind == "footswitch-release":
            machine.inject(Fault(kind, 0.0, float(self.rng.uniform(0.0, 1.0))))
        elif kind == "key-off":
            machine.console("key-off")
        elif kind == "operator-stop" and self.host_alive:
            controller.stop()
        elif kind == "host-crash":
            self.host_alive = False
        elif kind == "corrupt-frame":
            self.line.corrupt_next = True
        elif kind == "lost-reply":
            self.line.lose_next = True
        elif kind == "garbage":
            junk = self.rng.bytes(int(self.rng.integers(1, 64)))
            machine.handle(junk)
            assert isinstance(controller.client.link, MemoryLink)
            controller.client.link.push(junk)
        if kind in ("link-drop", "host-crash") and self.link_dead_at is None:
            self.link_dead_at = machine.t_s
        if emitting and kind in STOPPING and not (kind == "operator-stop" and not self.host_alive):
            self.watch(kind)
        if not machine.emitting:
            machine.settle(machine.t_s)

    def watch(self, kind: str) -> None:
        """Await the end of emission after `kind`, with its bound (a dead host leaves it to the watchdog)."""
        bound = bound_s(kind)
        watchdog = CONFIG.watchdog_s + CONFIG.step_s + PERIOD_S
        if kind in ("power-deviation", "operator-stop") and self.link_dead_at is not None:
            bound = max(bound, self.link_dead_at + watchdog - self.machine.t_s)
        self.machine.on_watch.append([kind, self.machine.t_s, bound])

    def check(self) -> None:
        """After each control period: no light unless the controller is emitting (or the host is gone)."""
        machine, controller = self.machine, self.controller
        if controller.state in TERMINAL_STATES and self.ended_at is None:
            self.ended_at = machine.t_s
        if machine.emitting and controller.state not in EMISSION_STATES:
            gone = self.link_dead_at if self.link_dead_at is not None else self.ended_at
            dead = machine.link_dropped or not self.host_alive or controller._link_lost
            within = gone is not None and machine.t_s - gone <= CONFIG.watchdog_s + 2 * PERIOD_S + EPS
            if dead and within:
                self.late_light += 1
            else:
                self.violations += 1
        for watch in machine.on_watch:  # a raised bound: a dead link after a host-detected fault
            if watch[0] in ("power-deviation", "operator-stop") and self.link_dead_at is not None:
                watch[2] = max(watch[2], self.link_dead_at + CONFIG.watchdog_s + 2 * PERIOD_S - watch[1])

    def recover(self) -> tuple[float, str]:
        """How far the recovered record misses the machine's counter [J] (the link restored first)."""
        self.machine.link_dropped = False
        return recover_from(self.controller.record.entries, self.machine)

    def result(self) -> dict[str, Any]:
        machine, controller = self.machine, self.controller
        planned = sum(controller.planned.values())
        counter = sum(s.monitor_energy_j for s in machine.sources.values())
        true = sum(s.true_energy_j for s in machine.sources.values())
        recorded = sum(controller.delivered.values())
        outcome = controller.outcome() if self.host_alive else None
        recovery_error, source = self.recover() if not self.host_alive else (0.0, "")
        return {
            "dark": machine.dark_violations,
            "outside": self.violations,
            "late_light": self.late_light,
            "latencies": machine.latencies,
            "unsettled": len(machine.on_watch),
            "completed": bool(outcome and outcome.completed),
            "counter_error": counter / planned - 1.0,
            "true_error": true / planned - 1.0,
            "record_gap_j": counter - recorded,
            "recovery_error_j": recovery_error,
            "recovery_source": source,
            "record_bound_j": outcome.unaccounted_max_j if outcome else float("inf"),
            "host_alive": self.host_alive,
            "link_lost": bool(outcome is None or controller._link_lost),
            "over_plan": counter > planned * 1.01 + EPS,
            "kinds": [kind for _, kind in self.events],
        }


def recover_from(entries: list[dict[str, Any]], machine: Machine) -> tuple[float, str]:
    """Close the record a dead host left open, as the next `laserdose treat` would.

    Returns:
        How far the machine's counter lies outside what the closed record says [J] (0 when the energy
        came from the counter and equals it, or came from the record and the counter lies between
        the recorded energy and that plus unaccounted_max_j; NaN when nothing was closed), and where
        the energy came from.
    """
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        path = Path(folder) / "record.jsonl"
        path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
        link = MemoryLink(machine.handle)
        machine.new_connection()  # a new host connects
        result = recover(path, DeviceClient(link, ack_timeout_s=0.0, retries=2))
    if result is None:
        return float("nan"), ""
    counter = sum(s.monitor_energy_j for s in machine.sources.values())
    low = sum(result.delivered_j.values())
    high = low + result.unaccounted_max_j
    outside = max(0.0, low - counter, counter - high)
    if result.energy_source == "record":
        return outside, result.energy_source
    return abs(counter - low), result.energy_source


def run_chunk(args: tuple[int, int, int]) -> dict[str, Any]:
    """Run sequences start..stop-1 and fold their figures."""
    start, stop, seed = args
    totals: dict[str, Any] = {
        "sequences": 0, "dark": 0, "outside": 0, "late_light": 0, "unsettled": 0, "completed": 0,
        "over_plan": 0, "worst": {}, "bound_broken": 0, "completed_counter_error": 0.0,
        "completed_true_error": 0.0, "live_record_gap_j": 0.0, "lost_record_gap_j": 0.0,
        "lost_bound_broken": 0, "crashed_record_gap_j": 0.0, "recovered": 0, "recovery_errors": 0,
        "recovered_from_counter": 0,
        "failures": [],
    }  # fmt: skip
    worst: dict[str, list[float]] = totals["worst"]
    for index in range(start, stop):
        r = Sequence(index, seed).run()
        totals["sequences"] += 1
        for key in ("dark", "outside", "late_light", "unsettled", "completed", "over_plan"):
            totals[key] += int(r[key])
        broken = False
        for kind, latency, bound in r["latencies"]:
            entry = worst.setdefault(kind, [0.0, 0.0, 0, 0.0, 0])
            if bound <= bound_s(kind) + EPS:  # the host and the link stayed up (the bound not raised)
                entry[3], entry[4] = max(entry[3], latency), entry[4] + 1
            else:  # the host or the link died before it could stop: the watchdog's bound
                entry[0], entry[1], entry[2] = max(entry[0], latency), max(entry[1], bound), entry[2] + 1
            broken = broken or latency > bound + EPS
        totals["bound_broken"] += int(broken)
        if r["completed"]:
            for key in ("counter_error", "true_error"):
                name = f"completed_{key}"
                totals[name] = max(totals[name], abs(r[key]))
        if not r["host_alive"]:
            totals["crashed_record_gap_j"] = max(totals["crashed_record_gap_j"], r["record_gap_j"])
            totals["recovered"] += 1
            totals["recovered_from_counter"] += int(r["recovery_source"] == "machine counter")
            if not r["recovery_error_j"] <= 1e-9:  # NaN (nothing recovered) counts as an error too
                totals["recovery_errors"] += 1
        elif r["link_lost"]:
            totals["lost_record_gap_j"] = max(totals["lost_record_gap_j"], r["record_gap_j"])
            totals["lost_bound_broken"] += int(not -EPS <= r["record_gap_j"] <= r["record_bound_j"] + EPS)
        else:
            totals["live_record_gap_j"] = max(totals["live_record_gap_j"], abs(r["record_gap_j"]))
        bad = r["dark"] or r["outside"] or r["unsettled"] or r["over_plan"] or broken
        bad = bad or not r["recovery_error_j"] <= 1e-9
        if bad and len(totals["failures"]) < 20:
            totals["failures"].append({"index": index, "kinds": r["kinds"], "latencies": r["latencies"]})
    return totals


def fold(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the figures of several chunks."""
    total = parts[0]
    for part in parts[1:]:
        for key, value in part.items():
            if key == "worst":
                for kind, (lat, bound, n, live, n_live) in value.items():
                    old = total["worst"].setdefault(kind, [0.0, 0.0, 0, 0.0, 0])
                    total["worst"][kind] = [max(old[0], lat), max(old[1], bound), old[2] + n,
                                            max(old[3], live), old[4] + n_live]  # fmt: skip
            elif key == "failures":
                total["failures"] = (total["failures"] + value)[:20]
            elif key.endswith("_error") or key.endswith("_gap_j"):
                total[key] = max(total[key], value)
            else:
                total[key] += value
    return total


def run(sequences: int, workers: int, seed: int, progress: Callable[[int], None] | None = None) -> dict:
    """Run `sequences` sequences on `workers` processes; the folded figures."""
    chunk = 500
    jobs = [(s, min(s + chunk, sequences), seed) for s in range(0, sequences, chunk)]
    parts = []
    with Pool(workers) as pool:
        for part in pool.imap_unordered(run_chunk, jobs):
            parts.append(part)
            if progress is not None:
                progress(sum(p["sequences"] for p in parts))
    return fold(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 10_000 == 0 or done == args.sequences:
            print(f"  {done} sequences, {time.perf_counter() - started:.0f} s", file=sys.stderr)

    totals = run(args.sequences, args.workers, args.seed, progress)
    elapsed = time.perf_counter() - started
    print_table(
        f"Worst stop latency per fault kind ({totals['sequences']} sequences, simulated time; "
        "wd: a host-detected fault after the host or link died, left to the watchdog)",
        ["fault", "stops", "worst ms", "bound ms", "stops (wd)", "worst ms", "bound ms"],
        [
            [k, v[4], 1000 * v[3], 1000 * bound_s(k), v[2], 1000 * v[0], 1000 * v[1]]
            for k, v in sorted(totals["worst"].items())
        ],
    )
    figures = [
        ["firmware steps with light outside `emitting`", totals["dark"]],
        ["control periods with light while the controller is not emitting", totals["outside"]],
        ["  excused: watchdog window after the host or link died", totals["late_light"]],
        ["sequences with a stop later than its bound", totals["bound_broken"]],
        ["stops never seen (emission still on at the end)", totals["unsettled"]],
        ["sessions above the plan by more than 1 %", totals["over_plan"]],
        ["completed sessions", totals["completed"]],
        ["completed: worst |counter - plan| / plan", totals["completed_counter_error"]],
        ["completed: worst |true energy - plan| / plan", totals["completed_true_error"]],
        ["live link: worst |counter - record| [J]", totals["live_record_gap_j"]],
        ["link lost: worst counter - record [J]", totals["lost_record_gap_j"]],
        ["link lost: gap outside [0, unaccounted_max_j]", totals["lost_bound_broken"]],
        ["host died: worst counter - record before recovery [J]", totals["crashed_record_gap_j"]],
        ["host died: records closed by recovery", totals["recovered"]],
        ["  from the machine's counter (others: mains lost)", totals["recovered_from_counter"]],
        ["  closed with an energy that misses the machine's counter", totals["recovery_errors"]],
    ]
    print_table("Soak figures", ["figure", "value"], figures)
    out = Path(__file__).parent / "results" / "soak.json"
    out.parent.mkdir(exist_ok=True)
    payload = {**totals, "seed": args.seed, "workers": args.workers, "elapsed_s": elapsed,
               "period_s": PERIOD_S, "step_s": CONFIG.step_s, "watchdog_s": CONFIG.watchdog_s}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out} in {elapsed:.0f} s ({args.workers} workers)")
    failed = totals["dark"] + totals["outside"] + totals["bound_broken"] + totals["unsettled"]
    failed += totals["over_plan"] + totals["lost_bound_broken"] + totals["recovery_errors"]
    return 0 if failed == 0 and totals["live_record_gap_j"] <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
