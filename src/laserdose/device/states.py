"""The controller's safety state machine, declared in one table.

Every allowed (state, event) pair is a row of TRANSITIONS with its target and guard. Anything else is
illegal and takes the one declared fallback row, ILLEGAL (any state -> `fault`): the controller stops
emission, disarms and raises IllegalTransition. Only `emitting` allows emission (EMISSION_STATES);
docs/safety-case.md draws its diagram from this table. `StateMachine` holds the state: it changes only
along a row of the table (or the fallback), never by assignment.
"""

from collections.abc import Callable
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
# The fallback for every (state, event) pair not in TABLE, and for a guard that does not hold: from any
# state ("*") to fault. Not drawn in the diagram (it would add an edge from every state).
ILLEGAL = Transition("*", "illegal", "fault", "", "an event the table does not allow disarms")


class IllegalTransition(RuntimeError):
    """An event that the table does not allow in the current state (the controller has disarmed).

    Attributes:
        source: the state the event arrived in.
        event: the event.
        why: "not allowed", or which guard failed.
    """

    def __init__(self, source: str, event: str, why: str) -> None:
        super().__init__(f"event {event!r} in state {source!r}: {why}")
        self.source, self.event, self.why = source, event, why


class StateMachine:
    """The controller's state; it changes only along a row of TRANSITIONS or the ILLEGAL fallback.

    `state` is read-only: assigning it raises AttributeError, so no code path can skip the table.
    """

    __slots__ = ("_state",)

    def __init__(self, state: str = "off") -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; states: {', '.join(STATES)}")
        self._state = state

    @property
    def state(self) -> str:
        """The current state (one of STATES)."""
        return self._state

    def fire(self, event: str, guard_holds: Callable[[str], bool]) -> Transition:
        """Take the row for (state, `event`) if its guard holds, and return it.

        Args:
            event: what happened.
            guard_holds: whether the named guard holds now.

        Raises:
            IllegalTransition: no such row, or its guard does not hold; the machine has taken ILLEGAL
                (it is in `fault`).
        """
        source = self._state
        transition = TABLE.get((source, event))
        if transition is None or (transition.guard and not guard_holds(transition.guard)):
            self._state = ILLEGAL.target
            why = "not allowed" if transition is None else f"guard {transition.guard} failed"
            raise IllegalTransition(source, event, why)
        self._state = transition.target
        return transition


def mermaid_diagram() -> str:
    """The state diagram in Mermaid syntax, generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", "    [*] --> off"]
    for t in TRANSITIONS:
        guard = f" [{t.guard}]" if t.guard else ""
        lines.append(f"    {t.source} --> {t.target}: {t.event}{guard}")
    lines += ["    done --> [*]", "    fault --> [*]"]
    return "\n".join(lines)
