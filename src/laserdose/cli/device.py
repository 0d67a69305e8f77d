"""`laserdose device`: run the machine simulator, print the controller's state diagram."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import print_json
from laserdose.device.client import DeviceClient
from laserdose.device.faults import parse_faults
from laserdose.device.link import LinkError, open_link
from laserdose.device.recovery import recover, recovery_line
from laserdose.device.simserver import SimulatorServer
from laserdose.device.simulator import Machine, MachineConfig
from laserdose.device.states import mermaid_diagram
from laserdose.errors import InputError, require_choice, require_range
from laserdose.machines.profile import load_profile, shipped_profiles

app = typer.Typer(help="Machine simulator and device tools.", no_args_is_help=True)


@app.command("simulate")
def simulate(
    profile: Annotated[str, typer.Option(help="Device profile name or TOML path.")] = "15w-dual",
    listen: Annotated[
        str, typer.Option(help="tcp://HOST:PORT (port 0 picks one) or serial:///dev/ttyX.")
    ] = "tcp://127.0.0.1:7001",
    fault: Annotated[
        list[str] | None,
        typer.Option(help="Fault to inject, e.g. estop@2s, power-deviation=0.3@2s (repeatable)."),
    ] = None,
    footswitch: Annotated[
        str, typer.Option(help="auto: pressed whenever ready; manual: CONTROL frames press it.")
    ] = "auto",
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.")] = 1.0,
    watchdog: Annotated[
        float, typer.Option(help="Wall-clock seconds of host silence before the machine disarms.")
    ] = 0.5,
    seed: Annotated[
        int, typer.Option(help="Seed of the monitor photodiode's calibration error and noise.")
    ] = 0,
    log: Annotated[
        Path | None, typer.Option(help="Write every emission interval and event here (JSON lines).")
    ] = None,
) -> None:
    """Simulate the machine's firmware behind a TCP or serial link until interrupted."""
    require_choice("footswitch mode", footswitch, ("auto", "manual"))
    require_range("time scale", time_scale, 0.01, 1000.0)
    require_range("watchdog", watchdog, 0.05, 10.0, "s")
    machine_profile = load_profile(_profile_name(profile))
    config = MachineConfig(
        watchdog_s=watchdog * time_scale,
        footswitch_auto=footswitch == "auto",
        seed=seed,
        faults=parse_faults(fault or []),
    )
    log_file = log.open("a", encoding="utf-8") if log else None
    try:
        server = SimulatorServer(Machine(machine_profile, config, log_file), listen, time_scale)
    except OSError as exc:
        raise InputError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    typer.echo(f"simulating {machine_profile.model} ({machine_profile.name}) on {server.address}", err=True)
    sys.stderr.flush()
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        if log_file:
            log_file.close()


def _profile_name(given: str) -> str:
    """Accept `15w-dual.toml` for the shipped `15w-dual` when no such file exists here."""
    if (
        given.endswith(".toml")
        and not Path(given).exists()
        and given.removesuffix(".toml") in shipped_profiles()
    ):
        return given.removesuffix(".toml")
    return given


@app.command("recover")
def recover_record(
    record: Annotated[Path, typer.Option(help="Session record (JSON lines) a killed host left open.")],
    device: Annotated[
        str | None,
        typer.Option(help="Machine URL (tcp://HOST:PORT, serial:///dev/ttyX): read its energy counter."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Close RECORD's open session as interrupted, with the machine's own energy counter where it can.

    Without --device the energy is the record's last measurement, with the most that may be missing.
    With --json, what was closed is printed as JSON (null when nothing was open).
    """
    if not record.is_file():
        raise InputError(f"no record {record}")
    client = None
    if device is not None:
        try:
            client = DeviceClient(open_link(device))
        except LinkError as exc:
            typer.echo(
                f"laserdose: error: {exc}; the record was left open (retry, or omit --device)", err=True
            )
            raise typer.Exit(3) from None
    try:
        result = recover(record, client)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read record {record}: {exc}") from None
    finally:
        if client is not None:
            client.link.close()
    if as_json:
        print_json(result.__dict__) if result else typer.echo("null")
    else:
        typer.echo(recovery_line(record, result) if result else f"{record}: no open session")


@app.command("diagram")
def diagram() -> None:
    """Print the controller's safety state diagram (Mermaid), generated from its transition table."""
    typer.echo(mermaid_diagram())
