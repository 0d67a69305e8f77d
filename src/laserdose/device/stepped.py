"""Controller and simulated machine in one process, stepped in simulated time (tests and benchmarks).

The host's control period is `period_s` of simulated time; the machine advances exactly that much between
two control steps, so a run is deterministic for a given seed and fault list.
"""

from collections.abc import Callable

from laserdose.device.client import DeviceClient
from laserdose.device.controller import Controller, DeliveryOutcome
from laserdose.device.link import MemoryLink
from laserdose.device.record import SessionRecord
from laserdose.device.simulator import Machine
from laserdose.domain.plan import Delivery


def connect(machine: Machine) -> DeviceClient:
    """A client talking to `machine` through a memory link."""
    return DeviceClient(MemoryLink(machine.handle), ack_timeout_s=0.0, retries=2)


def deliver(
    plan: Delivery,
    machine: Machine,
    period_s: float = 0.1,
    record: SessionRecord | None = None,
    between: Callable[[Machine, Controller], None] | None = None,
) -> tuple[DeliveryOutcome, Controller]:
    """Deliver `plan` on `machine`; `between(machine, controller)` runs after each machine step."""
    controller = Controller(
        plan, connect(machine), record or SessionRecord(), operator="test", profile=machine.profile
    )

    def pace() -> None:
        machine.step(period_s)
        if between is not None:
            between(machine, controller)

    return controller.run(pace), controller
