"""`laserdose device qa`: check the machine's output with an external power meter and store the check.

Interactive: the operator is guided through every source, handpiece and set point and types the meter's
reading while the source emits. Non-interactive (scripts, tests): the readings in set-point order with
`--reading` or `--readings-file`, or `--simulated-meter` against the simulator. Every reading, the meter's
identity and its calibration date are checked before anything is emitted; the check is stored in the
clinic database under the operator's name.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from laserdose.cli.options import DatabaseUrl, JsonFlag
from laserdose.cli.output import console, print_json, print_table
from laserdose.clinic import db, qa, qa_trend
from laserdose.clinic.models import User
from laserdose.device.calibration import check_factor
from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.link import LinkError, open_link
from laserdose.device.protocol import Msg
from laserdose.device.qa import (
    CheckRun,
    Meter,
    PowerCheck,
    SetPoint,
    check_meter_reading,
    given_readings,
    set_points,
    simulated_meter,
)
from laserdose.errors import InputError
from laserdose.machines.profile import load_profile

DeviceUrl = Annotated[str, typer.Option(help="Machine URL: tcp://HOST:PORT or serial:///dev/ttyX.")]


def qa_check(
    device: DeviceUrl,
    operator: Annotated[
        str, typer.Option(help="Username of the operator (or admin) in the clinic database.")
    ],
    profile: Annotated[str, typer.Option(help="The machine's profile (must match what it reports).")],
    meter_id: Annotated[str | None, typer.Option(help="The external meter: maker, model, serial.")] = None,
    meter_calibrated_on: Annotated[
        str | None, typer.Option(help="Date of the meter's calibration (YYYY-MM-DD).")
    ] = None,
    reading: Annotated[
        list[str] | None,
        typer.Option("--reading", help="Meter reading [W] per set point, in order (repeatable)."),
    ] = None,
    readings_file: Annotated[
        Path | None, typer.Option(help="JSON list of meter readings [W], one per set point in order.")
    ] = None,
    simulated_meter_flag: Annotated[
        bool,
        typer.Option(
            "--simulated-meter", help="Read the simulator's meter (the true output) instead of a person."
        ),
    ] = False,
    fractions: Annotated[
        str, typer.Option(help="Set points as fractions of each source's maximum power.")
    ] = "0.25,0.5,1",
    handpiece: Annotated[
        list[str] | None,
        typer.Option("--handpiece", help="Check only this handpiece (repeatable; default all)."),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: JsonFlag = False,
    simulator: Annotated[
        bool, typer.Option("--simulator", help="The device is the simulator: accept its --time-scale clock.")
    ] = False,
) -> None:
    """Check DEVICE's output at set points with an external meter; exit 0 passed, 1 failed, 3 aborted."""
    machine = load_profile(profile)
    points = set_points(machine, _fractions(fractions), tuple(handpiece or ()) or None)
    given = _given(reading or [], readings_file, simulated_meter_flag, len(points))
    interactive = given is None and not simulated_meter_flag
    meter_name, meter_date = _meter(meter_id, meter_calibrated_on, interactive)
    engine = db.make_engine(database_url)
    sessions = db.session_factory(engine)
    with sessions() as session:  # the operator exists and may check, before anything is emitted
        actor = _operator(session, operator)
    run = _measure(device, machine, points, given, (simulated_meter_flag, simulator))
    with sessions.begin() as session:
        check = qa.record_check(
            session=session, actor=session.merge(actor), machine_serial=str(run.identity.get("serial", "")),
            machine_profile=machine.name, readings=[r.as_dict() for r in run.results], meter_id=meter_name,
            meter_calibrated_on=meter_date, calibration=run.identity.get("calibration", {}),
        )  # fmt: skip
        trend = qa_trend.trend_alerts(session=session, machine_serial=check.machine_serial)
        summary = _summary(check, run, trend)
    engine.dispose()
    _print(summary, as_json)
    raise typer.Exit(0 if summary["passed"] else 1)


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"fractions must be numbers separated by commas, got {text!r}") from None
    if not values:
        raise InputError("give at least one set point fraction")
    return values


def _given(readings: list[str], path: Path | None, simulated: bool, count: int) -> list[float] | None:
    """The readings given in advance, every one checked; None when the operator is to be asked."""
    if path is not None:
        try:
            loaded: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read meter readings from {path}: {exc}") from None
        if not isinstance(loaded, list):
            raise InputError(f"{path} must hold a JSON list of meter readings [W]")
        readings = loaded
    if not readings:
        return None
    if simulated:
        raise InputError("give either meter readings or --simulated-meter, not both")
    values = [check_meter_reading(value, f"meter reading {i + 1}") for i, value in enumerate(readings)]
    if len(values) != count:
        raise InputError(f"{len(values)} meter readings for {count} set points: give one per set point")
    return values


def _meter(meter_id: str | None, calibrated_on: str | None, interactive: bool) -> tuple[str, dt.date]:
    if interactive and meter_id is None:
        meter_id = typer.prompt("External meter (maker, model, serial)")
    if interactive and calibrated_on is None:
        calibrated_on = typer.prompt("Date of the meter's calibration (YYYY-MM-DD)")
    if meter_id is None or calibrated_on is None:
        raise InputError("name the meter with --meter-id and its calibration date with --meter-calibrated-on")
    try:
        date = dt.date.fromisoformat(calibrated_on.strip())
    except ValueError:
        raise InputError(f"meter calibration date must be YYYY-MM-DD, got {calibrated_on!r}") from None
    return qa.check_meter(meter_id, date, dt.datetime.now(dt.UTC).date()), date


def _operator(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        raise InputError(f"no active user {username!r} in the clinic database")
    if user.role not in ("operator", "admin"):
        raise InputError(f"{username} is a {user.role}: power checks are recorded by operators and admins")
    session.expunge(user)
    return user


def _measure(
    device: str, machine: Any, points: list[SetPoint], given: list[float] | None, sim: tuple[bool, bool]
) -> CheckRun:
    """Run the points; `sim` = (read the simulator's meter, the machine is the simulator)."""
    simulated, is_simulator = sim
    try:
        link = open_link(device)
    except LinkError as exc:
        typer.echo(f"laserdose: error: {exc}; nothing was emitted", err=True)
        raise typer.Exit(3) from None
    check = PowerCheck(DeviceClient(link), machine, allow_time_scale=is_simulator)
    meter: Meter = given_readings(given) if given is not None else _ask
    if simulated:
        meter = simulated_meter(check)
    try:
        return check.run(points, meter)
    except (LinkError, DeviceRefused) as exc:
        typer.echo(f"laserdose: error: power check aborted: {exc}; nothing was stored", err=True)
        raise typer.Exit(3) from None
    finally:
        link.close()


def _ask(point: SetPoint, monitor_w: float) -> float:
    """Ask the operator for the meter's reading until it is a valid number of watts."""
    while True:
        text = typer.prompt(
            f"{point.wavelength_nm:g} nm, {point.handpiece}, set {point.power_w:g} W "
            f"(machine shows {monitor_w:.3g} W): meter reading [W]"
        )
        try:
            return check_meter_reading(text)
        except InputError as exc:
            typer.echo(f"  {exc}; read the meter again", err=True)


def _summary(check: Any, run: CheckRun, trend: list[qa_trend.TrendAlert]) -> dict[str, Any]:
    return {
        "check_id": check.id, "machine_serial": check.machine_serial, "profile": check.machine_profile,
        "passed": check.passed, "tolerance_fraction": check.tolerance_fraction,
        "worst_deviation": check.worst_deviation, "readings": check.readings,
        "calibration": run.identity.get("calibration", {}), "meter_id": check.meter_id,
        "meter_calibrated_on": check.meter_calibrated_on.isoformat() if check.meter_calibrated_on else None,
        "trend_alerts": [alert.message for alert in trend],
    }  # fmt: skip


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    rows = [
        (f"{r['wavelength_nm']:g}", r["handpiece"], r["set_power_w"], r["monitor_w"], r["meter_w"],
         f"{r['deviation_from_set']:+.1%}",
         f"{r['deviation_from_monitor']:+.1%}" if r["deviation_from_monitor"] is not None else "-")
        for r in summary["readings"]
    ]  # fmt: skip
    columns = ("nm", "handpiece", "set [W]", "monitor [W]", "meter [W]", "vs set", "vs monitor")
    print_table(f"power check {summary['check_id']} of {summary['machine_serial']}", columns, rows)
    tolerance = f"+/-{summary['tolerance_fraction']:.0%}"
    if summary["passed"]:
        console.print(f"PASSED: every set point within {tolerance} of the set power")
    else:
        console.print(
            f"FAILED: {summary['worst_deviation']:+.1%} from the set power (tolerance {tolerance}); "
            "ARM is refused until a passing check is recorded"
        )
    for message in summary["trend_alerts"]:
        console.print(f"TREND: {message}")


def service_visit(
    device: DeviceUrl,
    admin: Annotated[str, typer.Option(help="Username of the admin recording the visit.")],
    note: Annotated[str, typer.Option(help="What was done and by whom.")],
    factor: Annotated[
        list[str] | None, typer.Option("--factor", help="New monitor factor, NM=FACTOR (repeatable).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Service visit: set new monitor calibration factors on the machine and record the visit (audited).

    The machine then needs a passing power check before it is armed again.
    """
    factors = _factors(factor or [])
    engine = db.make_engine(database_url)
    sessions = db.session_factory(engine)
    with sessions() as session:
        actor = _operator(session, admin)
    if actor.role != "admin":
        raise InputError(f"{admin} is a {actor.role}: only an admin records a service visit")
    if not note.strip():  # checked before the machine changes, so a refused record leaves it untouched
        raise InputError("a service visit needs a note (who serviced the machine and what was done)")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    try:
        link = open_link(device)
    except LinkError as exc:
        raise InputError(f"cannot reach the machine: {exc}") from None
    try:
        client = DeviceClient(link)
        identity = client.hello()
        reported = client.request(Msg.CALIBRATE, {"factors": factors, "date": today, "operator": admin})
    except (LinkError, DeviceRefused) as exc:
        typer.echo(f"laserdose: error: calibration not set: {exc}; nothing was recorded", err=True)
        raise typer.Exit(3) from None
    finally:
        link.close()
    with sessions.begin() as session:
        visit = qa.record_service(
            session=session, actor=session.merge(actor), machine_serial=str(identity.get("serial", "")),
            machine_profile=str(identity.get("profile", "")), factors=factors, note=note,
        )  # fmt: skip
        visit_id = visit.id
    engine.dispose()
    console.print(f"service visit {visit_id} recorded; the machine now reports {reported}")
    console.print("ARM is refused until a passing power check is recorded")


def _factors(specs: list[str]) -> dict[str, float]:
    factors: dict[str, float] = {}
    for spec in specs:
        wavelength, _, value = spec.partition("=")
        try:
            key, number = f"{float(wavelength):g}", float(value)
        except ValueError:
            raise InputError(f"--factor must look like 810=1.05, got {spec!r}") from None
        factors[key] = check_factor(number)
    if not factors:
        raise InputError("give at least one --factor NM=FACTOR")
    return factors
