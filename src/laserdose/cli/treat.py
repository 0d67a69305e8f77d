"""`laserdose treat`: deliver a plan on a machine, with live progress; Ctrl-C stops emission at once.

Nothing is sent to the machine before the safety checklist of this session is complete: from
`--checklist FILE` (each item true, the plan file's SHA-256, completed within the hour) or, in a
terminal, confirmed item by item.
"""

import datetime as dt
import hashlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from laserdose.cli.options import JsonFlag
from laserdose.cli.output import console, print_json
from laserdose.device.client import DeviceClient
from laserdose.device.controller import Controller, DeliveryOutcome, Progress
from laserdose.device.link import LinkError, open_link
from laserdose.device.plan import check_delivery, read_plan_file, set_params
from laserdose.device.record import SessionRecord, read_record
from laserdose.device.record_doses import (
    completion_from_record,
    record_doses,
    same_day_note,
    same_day_sessions,
)
from laserdose.device.recovery import recover, recovery_line
from laserdose.domain.plan import Delivery
from laserdose.errors import InputError, missing_extra, require_range
from laserdose.machines.profile import DeviceProfile, load_profile
from laserdose.safety.checklist import (
    ITEMS,
    MAX_AGE_S,
    eyewear_for_plan,
    file_problem,
    missing_sentence,
    read_checklist_file,
)


def treat(
    plan: Annotated[
        Path, typer.Option(help="Plan document to deliver (as `laserdose plan --json` writes it).")
    ],
    device: Annotated[str, typer.Option(help="Machine URL: tcp://HOST:PORT or serial:///dev/ttyX.")],
    operator: Annotated[str, typer.Option(help="Name of the operator (written to the record).")],
    record: Annotated[
        Path | None, typer.Option(help="Session record (append-only JSON lines, fsynced).")
    ] = None,
    period: Annotated[float, typer.Option(help="Control period [wall-clock s].")] = 0.05,
    as_json: JsonFlag = False,
    simulator: Annotated[
        bool, typer.Option("--simulator", help="The device is the simulator: accept its --time-scale clock.")
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Clinic database: ARM only with a passing, current power check."),
    ] = None,
    complete: Annotated[
        bool,
        typer.Option(
            "--complete",
            help="Deliver only what remains of PLAN after the interrupted last session of --record.",
        ),
    ] = False,
    same_day_reason: Annotated[
        str | None,
        typer.Option(
            "--same-day-reason",
            help="Confirm a second dose of PLAN on a calendar day on which --record already has one (why).",
        ),
    ] = None,
    checklist: Annotated[
        Path | None,
        typer.Option(
            help="Safety checklist of this session (TOML, or JSON if .json): each item = true, plan_sha256 of"
            " PLAN, completed_at (within the hour), operator. Without it, a terminal asks each item."
        ),
    ] = None,
) -> None:
    """Deliver PLAN on DEVICE; exit 0 when completed, 3 when stopped or aborted, 2 on bad input.

    ARM needs the safety checklist of this session (see --checklist); an incomplete one is exit 2.
    With --record, a second dose of the same plan on one calendar day (the clinic's zone,
    LASERDOSE_CLINIC_TIMEZONE, default UTC) is refused without --same-day-reason.
    """
    require_range("control period", period, 0.01, 0.2, "s")
    if not operator.strip():
        raise InputError("operator must name a person")
    if complete and record is None:
        raise InputError("--complete needs --record: the record of the interrupted session")
    planned = read_plan_file(plan)
    profile = load_profile(planned.device)
    delivery = check_delivery(planned, profile)
    confirmed = confirm_checklist(checklist, plan, profile, delivery.power_w_by_wavelength, operator.strip())
    gate = power_check_gate(database_url) if database_url else None  # the missing extra said first
    try:  # the record first: a session we could not record never starts (and no link is left open)
        session = SessionRecord(record)
    except OSError as exc:
        raise InputError(f"cannot write record {record}: {exc.strerror or exc}") from None
    try:
        link = open_link(device)
    except LinkError as exc:
        session.close()
        typer.echo(f"laserdose: error: {exc}; nothing was emitted", err=True)
        raise typer.Exit(3) from None
    client = DeviceClient(link)
    notes: dict[str, Any] = {}
    if record is not None:
        try:
            _close_interrupted(record, client)
            delivery, notes = dose_of_record(
                record, delivery, profile, operator.strip(), complete, same_day_reason
            )
        except InputError:
            link.close()
            session.close()
            raise
    controller = Controller(
        delivery, client, session, operator.strip(), allow_time_scale=simulator, profile=profile,
        gate=gate, checklist=confirmed, session_notes=notes,
    )  # fmt: skip
    try:
        outcome = _run(controller, period, as_json)
    finally:
        link.close()
        session.close()
    _report(outcome, as_json, _record_doses(record, planned))
    raise typer.Exit(outcome.exit_code)


def dose_of_record(
    record: Path, delivery: Delivery, profile: DeviceProfile, operator: str, complete: bool,
    same_day_reason: str | None,
) -> tuple[Delivery, dict[str, Any]]:  # fmt: skip
    """What to deliver (the plan, or what remains of it) and the notes for the record's session entry.

    Raises:
        InputError: the last session cannot be completed, or a second dose today is not confirmed.
    """
    from laserdose.clinic.local_day import clinic_zone

    try:
        entries = read_record(record) if record.exists() else []
        notes: dict[str, Any] = {}
        completes = None
        target = delivery
        if complete:
            remainder, completes = completion_from_record(entries, delivery)
            target = check_delivery(remainder, profile)
            notes = {"completes": completes, "dose_plan": set_params(delivery)}
        now, zone = dt.datetime.now(dt.UTC), clinic_zone()
        earlier = same_day_sessions(entries, delivery, now, zone, besides=completes)
        notes |= same_day_note(earlier, operator, same_day_reason, now, zone)
    except (OSError, TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"cannot read record {record}: {exc}") from None
    return target, notes


def interactive() -> bool:
    """Whether a person at a terminal can answer the checklist's questions."""
    return sys.stdin.isatty()


def confirm_checklist(
    path: Path | None, plan: Path, profile: DeviceProfile, wavelengths_nm: Any, operator: str
) -> dict[str, Any]:
    """The session's completed safety checklist as the record keeps it; InputError naming what is missing.

    Args:
        path: the checklist file, or None to ask in the terminal (refused when there is none).
        plan: the plan file this session delivers (its SHA-256 ties a checklist file to it).
        profile: the machine (for the eyewear shown).
        wavelengths_nm: the plan's wavelengths [nm].
        operator: the operator named on the command line.
    """
    plan_sha256 = hashlib.sha256(plan.read_bytes()).hexdigest()
    now = dt.datetime.now(dt.UTC)
    if path is not None:
        found = read_checklist_file(path)
        problem = file_problem(found, plan_sha256, now)
        if problem:
            raise InputError(problem)
        by, at, answers = found.operator, found.completed_at, found.answers
    elif interactive():
        for need in eyewear_for_plan(profile, wavelengths_nm):
            typer.echo(
                f"eyewear at {need.wavelength_nm:g} nm: OD >= {need.od:.1f}, EN 207 {need.lb}", err=True
            )
        answers = {}
        for item in ITEMS:
            answers[item.key] = typer.confirm(f"Safety checklist: {item.label}?", default=False, err=True)
            if not answers[item.key]:
                raise InputError(missing_sentence([item]))
        by, at = operator, dt.datetime.now(dt.UTC)
    else:
        raise InputError(
            "safety checklist missing: give --checklist FILE (each item true) or run in a terminal to confirm"
            f" each item; nothing was emitted (checklists last {MAX_AGE_S / 60:g} minutes)"
        )
    return {"completed_by": by, "completed_at": at.isoformat(), "plan_sha256": plan_sha256,
            "items": {item.key: answers[item.key] for item in ITEMS}}  # fmt: skip


def power_check_gate(database_url: str) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    """The clinic's QA rules for the machine that identified itself: (refusal or "", facts to record)."""
    try:
        from laserdose.clinic import db, qa
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("laserdose"):
            raise
        raise missing_extra("clinic", exc) from None

    def gate(identity: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        engine = db.make_engine(database_url)
        try:
            with db.session_factory(engine)() as session:
                state = qa.gate(session=session, identity=identity)
                facts: dict[str, Any] = {"check_id": state.check.id if state.check else None}
                if state.allowed and state.check is not None:
                    facts["calibration"] = qa.session_calibration(state.check, identity)
                return state.reason or ("" if state.allowed else "no passing power check"), facts
        finally:
            engine.dispose()

    return gate


def _close_interrupted(record: Path, client: DeviceClient) -> None:
    """Close a session that a killed host left open in `record`, from the machine's counter if it can."""
    try:
        result = recover(record, client)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read record {record}: {exc}") from None
    if result is not None:
        typer.echo(f"laserdose: {recovery_line(record, result)}", err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops emission like Ctrl-C instead of leaving it to the watchdog


def _run(controller: Controller, period: float, quiet: bool) -> DeliveryOutcome:
    def pace() -> None:
        time.sleep(period)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)

    if quiet:
        return controller.run(pace)
    with Live(_view(controller.progress, controller), console=console, refresh_per_second=8) as live:
        return controller.run(pace, lambda progress: live.update(_view(progress, controller)))


def _view(progress: Progress, controller: Controller) -> Table:
    table = Table(title=f"treatment - state {progress.state}, t = {progress.t_s:.1f} s (device time)")
    for column in ("wavelength [nm]", "power [W]", "delivered [J]", "planned [J]"):
        table.add_column(column)
    for key, planned in controller.planned.items():
        power = progress.power_w.get(key, 0.0)
        table.add_row(key, f"{power:.2f}", f"{progress.delivered_j.get(key, 0.0):.1f}", f"{planned:.1f}")
    table.caption = f"diode temperature {progress.temperature_c:.1f} degC"
    return table


def _record_doses(record: Path | None, planned: Delivery) -> str | None:
    """The plan's doses in the record, delivered and interrupted apart (None without a readable record)."""
    if record is None:
        return None
    try:
        return record_doses(read_record(record), planned).sentence()
    except (OSError, TypeError, ValueError, KeyError) as exc:
        return f"not counted ({exc})"


def _report(outcome: DeliveryOutcome, as_json: bool, doses: str | None) -> None:
    payload = {**outcome.__dict__, "exit_code": outcome.exit_code}
    if doses is not None:
        payload["record_doses"] = doses
    if as_json:
        print_json(payload)
        return
    console.print()
    verdict = "completed" if outcome.completed else "STOPPED"
    total = sum(outcome.delivered_j.values())
    planned = sum(outcome.planned_j.values())
    console.print(f"{verdict}: {outcome.reason}; delivered {total:.1f} J of {planned:.1f} J")
    if doses is not None:
        console.print(f"this plan in the record: {doses}")
