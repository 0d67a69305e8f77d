"""Hypothesis stateful test: controller + simulated firmware under random events, faults and garbage.

Invariants after every control period: no emission unless the controller is `emitting` (or the link is
gone and the machine's watchdog has not yet run out); emission stops within one control period after a
fault; delivered energy never exceeds the plan by more than 1 %; the record accounts for every joule the
machine's monitor counted.
"""

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from simkit import PLAN, emitted, make_machine

from laserdose.device.controller import Controller
from laserdose.device.faults import Fault
from laserdose.device.ledger import ENERGY_TOLERANCE
from laserdose.device.monitor import RAMP_ALLOWANCE_S
from laserdose.device.plan import plan_delivery
from laserdose.device.record import SessionRecord
from laserdose.device.states import EMISSION_STATES, TERMINAL_STATES, IllegalTransition
from laserdose.device.stepped import connect
from laserdose.machines.profile import load_profile

PERIOD_S = 0.1
PROFILE = load_profile("15w-dual")
SHORT = {**PLAN, "duration_s": 3, "total_energy_j": 30.0}
STOPPING = ("interlock-open", "estop", "overtemp", "power-loss", "handpiece-removed")
CONSOLE = (
    "footswitch-press",
    "footswitch-release",
    "key-off",
    "handpiece-remove",
    "interlock-open",
    "estop-press",
)


class Treatment(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 2**16), pulsed=st.booleans())
    def start(self, seed, pulsed):
        data = (
            {**SHORT, "mode": "pulsed", "frequency_hz": 50.0, "duty_cycle": 0.5, "total_energy_j": 15.0}
            if pulsed
            else SHORT
        )
        self.plan = plan_delivery(data, PROFILE)
        self.machine = make_machine(PROFILE, seed=seed)
        self.controller = Controller(
            self.plan, connect(self.machine), SessionRecord(), "fuzz", profile=PROFILE
        )
        self.controller.prepare()
        self.stop_by: float | None = None  # emission must be off by this simulated time
        self.power_fault_at: float | None = None  # when a power deviation was injected
        self.ended_at: float | None = None
        self.run(12)  # through the emission delay, so that most sequences disturb a running emission

    def _expect_stop(self, deadline: float) -> None:
        self.stop_by = deadline if self.stop_by is None else min(self.stop_by, deadline)

    def run(self, periods):
        for _ in range(periods):
            self.machine.step(PERIOD_S)
            if self.controller.state not in TERMINAL_STATES:
                try:
                    self.controller.tick()
                except IllegalTransition:
                    pass
            if self.controller.state in TERMINAL_STATES and self.ended_at is None:
                self.ended_at = self.machine.t_s
            self._check()

    @rule(periods=st.integers(1, 15))
    def run_more(self, periods):
        self.run(periods)

    @rule(
        what=st.one_of(
            st.tuples(st.just("device"), st.sampled_from(STOPPING)),
            st.tuples(st.just("power"), st.sampled_from([0.3, 0.5, -0.5, -0.9])),
            st.tuples(st.just("console"), st.sampled_from(CONSOLE)),
            st.tuples(st.just("link-drop"), st.none()),
            st.tuples(st.just("operator-stop"), st.none()),
            st.tuples(st.just("garbage"), st.binary(max_size=64)),
        )
    )
    def disturb(self, what):
        kind, value = what
        getattr(self, "_" + kind.replace("-", "_"))(value)

    def _device(self, kind):
        self.machine.inject(Fault(kind, 0.0))
        self._expect_stop(self.machine.t_s + PERIOD_S)

    def _power(self, deviation):
        self.machine.inject(Fault("power-deviation", 0.0, deviation))
        self.power_fault_at = self.machine.t_s

    def _power_deadline(self) -> float | None:
        """When a deviating source must be off: the first tick after its ramp allowance has run out.

        The allowance runs from the source's latest switch-on, so a footswitch release and press during a
        deviation starts it again (the monitor cannot tell a ramp from a fault before it has run out).
        """
        if self.power_fault_at is None or self.machine.link_dropped:  # a dead link: the watchdog bounds it
            return None
        on_since = [s.on_since_s for s in self.machine.sources.values() if s.on_since_s is not None]
        if not on_since:
            return None
        return max([self.power_fault_at, *(t + RAMP_ALLOWANCE_S for t in on_since)]) + 2 * PERIOD_S

    def _console(self, action):
        self.machine.console(action)
        if action not in ("footswitch-press", "footswitch-release"):
            self._expect_stop(self.machine.t_s + PERIOD_S)

    def _link_drop(self, _):
        self.machine.inject(Fault("link-drop", 0.0))
        deadline = self.machine.t_s + 3 * PERIOD_S + self.machine.config.watchdog_s
        if self.stop_by is not None and self.stop_by > self.machine.t_s:
            # A stop the host was still to send (e.g. a power deviation not yet settled) cannot reach the
            # machine any more: the watchdog bounds it now (firmware-side stops happened already).
            self.stop_by = max(self.stop_by, deadline)
        self._expect_stop(deadline)

    def _operator_stop(self, _):
        self.controller.stop()
        assert not self.machine.emitting or self.machine.link_dropped

    def _garbage(self, data):
        self.machine.handle(data)
        self.controller.client.link.push(data)

    def _check(self):
        m, c = self.machine, self.controller
        if m.emitting and c.state not in EMISSION_STATES:
            # Only a dead link may leave the machine emitting, and only until its watchdog runs out.
            assert m.link_dropped and self.ended_at is not None
            assert m.t_s - self.ended_at <= m.config.watchdog_s + 2 * PERIOD_S
        if self.stop_by is not None and m.t_s >= self.stop_by - 1e-9:
            assert not m.emitting, f"still emitting at {m.t_s:.2f} s, deadline {self.stop_by:.2f} s"
        power_by = self._power_deadline()
        if power_by is not None and m.t_s >= power_by - 1e-9:
            assert not m.emitting, f"still emitting at {m.t_s:.2f} s, power deadline {power_by:.2f} s"

    @invariant()
    def never_above_plan(self):
        if not hasattr(self, "machine"):
            return
        for key, planned in self.controller.planned.items():
            counter = self.machine.sources[float(key)].monitor_energy_j
            assert counter <= planned * (1 + ENERGY_TOLERANCE) + 1e-9
            assert self.controller.delivered[key] <= planned * (1 + ENERGY_TOLERANCE) + 1e-9

    def teardown(self):
        if not hasattr(self, "machine"):
            return
        m, c = self.machine, self.controller
        if c.state not in TERMINAL_STATES:
            c.stop("end of test")
        m.step(m.config.watchdog_s + 3 * PERIOD_S)
        assert not m.emitting
        logged = emitted(m)
        event(f"emitted: {bool(logged)}, ended in {c.state}, link dropped: {m.link_dropped}")
        for key in c.planned:
            counted = m.sources[float(key)].monitor_energy_j
            assert abs(logged.get(key, 0.0) - counted) <= 1e-9 * max(1.0, counted)
        missing = sum(logged.values()) - sum(c.delivered.values())
        if m.link_dropped:
            assert -1e-9 <= missing <= c.outcome().unaccounted_max_j + 1e-9
        else:
            assert abs(missing) <= 1e-9 * max(1.0, sum(logged.values()))


Treatment.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestTreatment = Treatment.TestCase
