"""Closing a session record that a crashed or killed host left open.

A host killed mid-treatment leaves its record ending in `emitting`, without an outcome, and short of
what the machine emitted: the machine went on until its watchdog stopped it. On the next start the open
session is closed as `interrupted`. Its delivered energy is read back from the machine's own monitor
counter when the machine still holds that session: the host sent a random `session_id` with SET_PARAMS,
and READ_BACK returns it; new parameters (another session) reset the counters, so a different id means
the counter is someone else's. Otherwise the energy is the record's last measurement, and the most that
may have gone unrecorded is what remained below the machine's energy limits (the planned energies).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laserdose.device.client import DeviceClient, DeviceRefused
from laserdose.device.controller import send_stop
from laserdose.device.link import LinkError
from laserdose.device.protocol import Msg, ProtocolError
from laserdose.device.record import SessionRecord, read_record
from laserdose.device.requests import check_measurement

INTERRUPTED = "interrupted"
REASON = "the host stopped without closing this record (killed or crashed); closed at the next start"


@dataclass(frozen=True)
class Recovery:
    """How an open session was closed.

    Attributes:
        session_id: the id the host sent with SET_PARAMS ("" for a record written before ids existed).
        delivered_j: energy per wavelength written to the closing outcome [J].
        recorded_j: energy per wavelength of the record's last measurement [J].
        planned_j: the session's energy limits per wavelength [J].
        energy_source: "machine counter" or "record".
        unaccounted_max_j: most energy that may have been emitted and not counted in delivered_j [J].
        reason: the closing reason written to the record.
    """

    session_id: str
    delivered_j: dict[str, float]
    recorded_j: dict[str, float]
    planned_j: dict[str, float]
    energy_source: str
    unaccounted_max_j: float
    reason: str


def open_session(entries: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The entries of the last session in `entries` if it has no outcome, else None."""
    starts = [i for i, entry in enumerate(entries) if entry.get("kind") == "session"]
    if not starts:
        return None
    session = entries[starts[-1] :]
    return None if any(entry.get("kind") == "outcome" for entry in session) else session


def recover(path: str | Path, client: DeviceClient | None) -> Recovery | None:
    """Close the open session of the record at `path`, if any; None when nothing was open.

    Args:
        path: the session record (JSON lines).
        client: a link to the machine, or None when it cannot be reached.
    """
    if not Path(path).exists():
        return None
    session = open_session(read_record(path))
    if session is None:
        return None
    head = session[0]
    session_id = str(head.get("session_id", ""))
    planned = _floats(head.get("plan", {}).get("energy_limit_j", {}))
    measurements = [e for e in session if e.get("kind") == "measurement"]
    recorded = _floats(measurements[-1]["delivered_j"]) if measurements else dict.fromkeys(planned, 0.0)
    counter, why = _machine_counter(client, session_id, recorded, list(planned)) if client else (None, "")
    if counter is not None:
        result = Recovery(session_id, counter, recorded, planned, "machine counter", 0.0, REASON)
    else:
        bound = sum(max(0.0, planned[k] - recorded.get(k, 0.0)) for k in planned)
        reason = f"{REASON}; {why or 'machine not reachable'}: energy from the record"
        result = Recovery(session_id, recorded, recorded, planned, "record", bound, reason)
    _close(path, result)
    return result


def recovery_line(path: str | Path, result: Recovery) -> str:
    """One line for the operator saying what was closed and how much was delivered."""
    delivered, planned = sum(result.delivered_j.values()), sum(result.planned_j.values())
    bound = f", up to {result.unaccounted_max_j:.1f} J more" if result.unaccounted_max_j else ""
    return (
        f"closed an interrupted session in {path}: delivered {delivered:.1f} J of {planned:.1f} J "
        f"(from the {result.energy_source}{bound})"
    )


def _machine_counter(
    client: DeviceClient, session_id: str, recorded: dict[str, float], keys: list[str]
) -> tuple[dict[str, float] | None, str]:
    """The machine's counters for `session_id` (None, and why, when it cannot give trustworthy ones).

    The counter is taken only from a machine that is not emitting (or acknowledged our STOP), when every
    value is a finite number no smaller than what the record already holds.
    """
    try:
        client.hello()
        held = client.request(Msg.READ_BACK)
        if not session_id or held.get("session_id") != session_id:
            return None, "the machine has since started another session"
        if client.request(Msg.STATUS).get("state") in ("ready", "emitting"):
            acked, _ = send_stop(client, "closing an interrupted session")  # the watchdog should have
            if not acked:
                return None, "the machine did not acknowledge STOP, so its counter may still rise"
        sample = client.request(Msg.MEASURE)
        check_measurement(sample)
        counter = {key: float(sample["energy_j"][key]) for key in keys}
    except DeviceRefused as exc:
        return None, f"the machine holds no parameters ({exc})"
    except ProtocolError as exc:
        return None, f"the machine's counter is not a plausible reading ({exc})"
    except (LinkError, KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        return None, f"machine not reachable ({exc})"
    if any(counter[key] < recorded.get(key, 0.0) - 1e-9 for key in keys):
        return None, "the machine's counter is below the recorded energy"
    return counter, ""


def _close(path: str | Path, result: Recovery) -> None:
    record = SessionRecord(path)
    try:
        record.write("recovered", session_id=result.session_id, recorded_j=result.recorded_j,
                     energy_source=result.energy_source)  # fmt: skip
        record.write(
            "outcome",
            completed=False,
            state=INTERRUPTED,
            reason=result.reason,
            delivered_j=result.delivered_j,
            host_integral_j={},
            planned_j=result.planned_j,
            unaccounted_max_j=result.unaccounted_max_j,
            energy_source=result.energy_source,
            exit_code=3,
        )
    finally:
        record.close()


def _floats(values: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items()} if isinstance(values, dict) else {}
