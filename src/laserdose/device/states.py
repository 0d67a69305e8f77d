"""The controller's safety state machine, declared in one table.

Every allowed (state, event) pair is a row of TRANSITIONS with its target and guard. Anything else is
illegal: the controller stops emission, disarms, enters `fault` and raises IllegalTransition. Only
`emitting` allows emission (EMISSION_STATES); docs/safety-case.md draws its diagram from this table.
"""

from dataclasses import dataclass

STATES = ("off", "standby", "ready", "emitting", "paused", "fault", "done")
EMISSION_STATES = frozenset({"emitting"})
TERMINAL_STATES = frozenset({"fault", "done"})


@dataclass(frozen=True)
class Transition:
    """One allowed transition.

    Attributes:
        source: state the controller is in.
        event: what happened.
        target: state it goes to.
        guard: name of a condition (Controller.GUARDS) that must hold, or "" for none.
        why: one line for the safety case.
    """

    source: str
    event: str
    target: str
    guard: str
    why: str


_ACTIVE = ("standby", "ready", "emitting", "paused")

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "off",
        "connected",
        "standby",
        "identity_matches",
        "device identified, protocol agreed, profile matches",
    ),
    Transition("standby", "armed", "ready", "params_verified", "parameters read back equal to the plan"),
    Transition("ready", "emission_started", "emitting", "armed_by_us", "footswitch pressed after the delay"),
    Transition("paused", "emission_started", "emitting", "armed_by_us", "footswitch pressed again"),
    Transition("emitting", "footswitch_released", "paused", "", "operator lifted the foot"),
    Transition("emitting", "dose_reached", "done", "dose_reached", "planned energy delivered"),
    Transition("paused", "dose_reached", "done", "dose_reached", "planned energy delivered"),
    *(Transition(s, "stop", "done", "", "operator stop") for s in _ACTIVE),
    *(Transition(s, "fault", "fault", "", "any fault aborts and disarms") for s in ("off", *_ACTIVE)),
)

TABLE: dict[tuple[str, str], Transition] = {(t.source, t.event): t for t in TRANSITIONS}
EVENTS = tuple(dict.fromkeys(t.event for t in TRANSITIONS))


class IllegalTransition(RuntimeError):
    """An event that the table does not allow in the current state (the controller has disarmed)."""


def mermaid_diagram() -> str:
    """The state diagram in Mermaid syntax, generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> off"]
    for t in TRANSITIONS:
        guard = f" [{t.guard}]" if t.guard else ""
        lines.append(f"    {t.source} --> {t.target}: {t.event}{guard}")
    lines += ["    done --> [*]", "    fault --> [*]"]
    return "\n".join(lines)
