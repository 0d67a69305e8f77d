"""Device benchmark: stop latency after each fault kind, energy accuracy over 100 simulated treatments.

Runs the controller against the simulated firmware in one process, stepped in simulated time (control
period 0.1 s, firmware step 0.01 s), so the figures are deterministic for the seeds below. Prints a table
and writes benchmarks/results/device.json.
"""

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from laserdose.cli.output import print_table
from laserdose.device.faults import FAULT_KINDS, Fault
from laserdose.device.plan import plan_delivery
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.device.stepped import deliver
from laserdose.machines.profile import load_profile

PERIOD_S = 0.1
RUNS_PER_FAULT = 20
TREATMENTS = 100
PROFILE = load_profile("15w-dual")
BASE = {"decision": "treat", "device": "15w-dual", "mode": "cw", "handpiece": "large-standoff"}


def _plan(powers: dict[str, float], duration_s: float, pulsed: bool) -> dict:
    duty = 0.5 if pulsed else 1.0
    extra = {"mode": "pulsed", "frequency_hz": 1000.0, "duty_cycle": duty} if pulsed else {}
    total = sum(powers.values()) * duration_s * duty
    return {
        **BASE,
        **extra,
        "power_w_by_wavelength": powers,
        "duration_s": duration_s,
        "total_energy_j": total,
    }


def stop_latency(kind: str, seed: int) -> float:
    """Simulated seconds from the fault to the end of emission [s]."""
    rng = np.random.default_rng(seed)
    at_s = float(rng.uniform(1.0, 10.0))
    value = {"power-deviation": 0.3, "footswitch-release": 5.0}.get(kind)
    config = MachineConfig(seed=seed, faults=(Fault(kind, at_s, value),))
    machine = Machine(PROFILE, config)
    plan = plan_delivery(_plan({"810": 6.0, "980": 4.0}, 30.0, False), PROFILE)
    deliver(plan, machine, PERIOD_S)
    machine.step(2.0)  # let a watchdog run out where the host could not stop emission
    fault_s = next(line["t_s"] for line in machine.log_lines if line["type"] == "fault")
    ends = [
        line["end_s"] for line in machine.log_lines if line["type"] == "emission" and line["end_s"] >= fault_s
    ]
    return min(ends) - fault_s if kind == "footswitch-release" else max(ends) - fault_s


def accuracy(seed: int) -> dict[str, float]:
    """Relative energy errors of one random treatment."""
    rng = np.random.default_rng(1000 + seed)
    p810 = float(rng.uniform(0.5, 9.0))
    p980 = float(rng.uniform(0.5, 15.0 - p810))
    plan = plan_delivery(
        _plan({"810": round(p810, 2), "980": round(p980, 2)}, float(rng.uniform(10, 120)), seed % 2 == 1),
        PROFILE,
    )
    machine = Machine(PROFILE, MachineConfig(seed=seed))
    outcome, _ = deliver(plan, machine, PERIOD_S)
    planned = sum(outcome.planned_j.values())
    true = sum(s.true_energy_j for s in machine.sources.values())
    return {
        "completed": float(outcome.completed),
        "counter_error": sum(outcome.delivered_j.values()) / planned - 1.0,
        "host_integral_error": sum(outcome.host_integral_j.values()) / planned - 1.0,
        "true_error": true / planned - 1.0,
    }


def main() -> int:
    started = time.perf_counter()
    latency = {}
    for kind in FAULT_KINDS:
        values = [stop_latency(kind, seed) for seed in range(RUNS_PER_FAULT)]
        latency[kind] = {"mean_ms": 1000 * statistics.mean(values), "max_ms": 1000 * max(values)}
    print_table(
        f"Stop latency after each fault ({RUNS_PER_FAULT} runs each, control period {PERIOD_S * 1000:g} ms, "
        "simulated time)",
        ["fault", "mean [ms]", "max [ms]"],
        [[kind, v["mean_ms"], v["max_ms"]] for kind, v in latency.items()],
    )
    runs = [accuracy(seed) for seed in range(TREATMENTS)]
    summary = {}
    for key in ("counter_error", "host_integral_error", "true_error"):
        values = [run[key] for run in runs]
        summary[key] = {
            "mean_pct": 100 * statistics.mean(values),
            "max_abs_pct": 100 * max(abs(v) for v in values),
        }
    completed = sum(run["completed"] for run in runs)
    print_table(
        f"Energy accuracy over {TREATMENTS} random treatments ({int(completed)} completed)",
        ["delivered energy by", "mean error [%]", "max |error| [%]"],
        [[key, v["mean_pct"], v["max_abs_pct"]] for key, v in summary.items()],
    )
    out = Path(__file__).parent / "results" / "device.json"
    out.parent.mkdir(exist_ok=True)
    payload = {
        "stop_latency": latency,
        "energy_accuracy": summary,
        "completed": completed,
        "treatments": TREATMENTS,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    worst = summary["counter_error"]["max_abs_pct"]
    return 0 if completed == TREATMENTS and worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
