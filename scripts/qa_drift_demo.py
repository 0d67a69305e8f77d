"""How soon does a power check catch a drifting source? A simulator over TCP, checked again and again.

    PYTHONPATH=src python scripts/qa_drift_demo.py --rate 1.0 --every 300 --scale 200

The simulator (15w-dual, in a thread, on a loopback TCP port) gets the fault drift:810=RATE@0s: from its
first emission, the 810 nm output departs from what its monitor reports by RATE per simulated hour. Every
EVERY simulated seconds the host runs the power check of laserdose.device.qa at 100 % of 810 nm through the
large-standoff handpiece, reading the simulator's meter (METER, true output with 0.5 % noise). For each
check the script prints the simulated time since the drift began, the injected departure at the moment the
meter was read (the drift model: RATE x time / 3600 s, from the simulator's own clock in the METER answer),
the measured deviation from the set power, and whether the check passes the +/-20 % tolerance. It stops at
the first failing check: the drift is caught.
"""

from __future__ import annotations

import argparse
import threading
import time

from laserdose.device.client import DeviceClient
from laserdose.device.faults import parse_faults
from laserdose.device.link import open_link
from laserdose.device.protocol import Msg
from laserdose.device.qa import PowerCheck, SetPoint, check_meter_reading
from laserdose.device.simserver import SimulatorServer
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.machines.profile import load_profile

TOLERANCE = 0.20  # 21 CFR 1040.11(a) [21CFR1040]


def main() -> None:
    """Run checks until one fails; print one line per check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1.0, help="drift per simulated hour [-]")
    parser.add_argument("--every", type=float, default=300.0, help="simulated seconds between checks")
    parser.add_argument("--scale", type=float, default=200.0, help="simulated seconds per wall second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    profile = load_profile("15w-dual")
    config = MachineConfig(watchdog_s=1.0 * args.scale, seed=args.seed,
                           faults=parse_faults([f"drift:810={args.rate}@0s"]))  # fmt: skip
    server = SimulatorServer(Machine(profile, config), "tcp://127.0.0.1:0", args.scale)
    threading.Thread(target=server.serve, daemon=True).start()
    point = SetPoint(810.0, "large-standoff", 15.0)
    print(f"drift {args.rate:+.0%} per simulated hour at 810 nm; a check every {args.every:g} s; tolerance "
          f"+/-{TOLERANCE:.0%}")  # fmt: skip
    print(" check  t since onset [s]  injected  measured vs set  measured - injected  verdict")
    onset_s: float | None = None
    for number in range(1, 1000):
        link = open_link(server.address, timeout_s=2.0)
        check = PowerCheck(DeviceClient(link, ack_timeout_s=0.5), profile, allow_time_scale=True)
        read: dict[str, float] = {}

        def meter(
            p: SetPoint, monitor_w: float, check: PowerCheck = check, read: dict[str, float] = read
        ) -> float:
            answer = check.request(Msg.METER)
            read["t_s"] = float(answer["t_s"])
            return check_meter_reading(answer["power_w"])

        run = check.run([point], meter)
        link.close()
        if onset_s is None:
            with server.lock:
                onset_s = next(line["t_s"] for line in server.machine.log_lines if line["type"] == "fault")
        since_s = read["t_s"] - onset_s
        injected = args.rate * since_s / 3600.0
        measured = run.results[0].deviation_from_set
        passed = abs(measured) <= TOLERANCE
        verdict = "pass" if passed else "CAUGHT"
        gap = measured - injected
        print(f"{number:6d}  {since_s:17.0f}  {injected:+8.1%}  {measured:+15.1%}  {gap:+19.2%}  {verdict}")
        if not passed:
            break
        time.sleep(args.every / args.scale)
    server.stop()


if __name__ == "__main__":
    main()
