"""A plan's delivery is checked strictly against the profile: refused, never clamped.

Most plans here are version 1 device plan files (the decision and the delivery, flat, as hand-written
for the machine before the plan document had a version): they are still read.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import PLAN

from laserdose.device.plan import plan_delivery
from laserdose.errors import InputError


def test_planned_energy_is_power_times_duration_times_duty(profile):
    cw = plan_delivery(PLAN, profile)
    assert cw.energy_j_by_wavelength == {810.0: 6.0 * 30, 980.0: 4.0 * 30}  # E = P t (cw duty 1)
    pulsed = {**PLAN, "mode": "pulsed", "frequency_hz": 100.0, "duty_cycle": 0.5, "total_energy_j": 150.0}
    expected = {810.0: 6.0 * 30 * 0.5, 980.0: 4.0 * 30 * 0.5}
    assert plan_delivery(pulsed, profile).energy_j_by_wavelength == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "do-not-treat"}, "only treat or treat-with-precautions"),
        ({"decision": "refer"}, "only treat"),
        ({"device": "30w-quad"}, "not '15w-dual'"),
        ({"power_w_by_wavelength": {"810": 16.0}, "total_energy_j": 480.0}, "outside 0.1-15 W"),
        ({"power_w_by_wavelength": {"810": 0.05}, "total_energy_j": 1.5}, "outside 0.1-15 W"),
        (
            {"power_w_by_wavelength": {"810": 10.0, "980": 6.0}, "total_energy_j": 480.0},
            "above the machine's 15 W",
        ),
        ({"power_w_by_wavelength": {"1064": 5.0}, "total_energy_j": 150.0}, "no 1064 nm source"),
        (
            {"power_w_by_wavelength": {"810": -1.0}},
            "power_w_by_wavelength.810: power must be between 0 and 60 W",
        ),
        ({"mode": "burst"}, "mode: Input should be 'cw' or 'pulsed'"),
        (
            {"mode": "pulsed", "frequency_hz": 30000.0, "duty_cycle": 0.5, "total_energy_j": 150.0},
            "frequency",
        ),
        (
            {"mode": "pulsed", "frequency_hz": 100.0, "duty_cycle": 0.95, "total_energy_j": 285.0},
            "duty cycle",
        ),
        ({"duty_cycle": 0.5}, "mode cw needs frequency_hz 0 and duty_cycle 1"),
        ({"handpiece": "laser-sword"}, "no handpiece"),
        ({"total_energy_j": 400.0}, "disagrees"),
        ({"duration_s": 0}, "duration_s: Input should be greater than 0"),
        ({"duration_s": 3601}, "duration_s: Input should be less than or equal to 3600"),
        ({"duration_s": float("nan")}, "finite number"),
        ({"power_w_by_wavelength": {"red": 5.0}}, "a wavelength key must be a whole number of nm, got .red."),
    ],
)
def test_plans_outside_the_machine_are_refused(profile, change, message):
    with pytest.raises(InputError, match=message):
        plan_delivery({**PLAN, **change}, profile)


def test_missing_field_is_named(profile):
    plan = {k: v for k, v in PLAN.items() if k != "handpiece"}
    with pytest.raises(InputError, match="handpiece: Field required"):
        plan_delivery(plan, profile)


def test_treat_cli_refuses_a_bad_plan_with_one_line_and_exit_2(cli, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**PLAN, "power_w_by_wavelength": {"810": 20.0}, "total_energy_j": 600.0}))
    result = cli("treat", "--plan", path, "--device", "tcp://127.0.0.1:1", "--operator", "A")
    assert result.exit_code == 2
    assert result.stderr.startswith("laserdose: error: plan outside the machine's limits: 810 nm power 20 W")
    assert "Traceback" not in result.output


def test_treat_cli_exits_3_when_no_machine_answers(cli, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    result = cli("treat", "--plan", path, "--device", "tcp://127.0.0.1:1", "--operator", "A", "--no-qa-gate")
    assert result.exit_code == 3 and "nothing was emitted" in result.stderr


def test_treat_cli_refuses_an_unwritable_record_before_connecting(cli, tmp_path):
    import socket

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        record = tmp_path / "no-such-dir" / "session.jsonl"
        result = cli("treat", "--plan", path, "--device", url, "--operator", "A", "--record", record,
                     "--no-qa-gate")  # fmt: skip
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.stderr.startswith("laserdose: error: cannot write record")
        assert result.stderr.count("\n") == 1
        listener.settimeout(0.05)
        with pytest.raises(TimeoutError):  # no link was opened (none left dangling)
            listener.accept()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), True, "1"])
def test_shared_finite_validator_refuses_non_finite_values(value):
    from laserdose.errors import require_finite

    with pytest.raises(InputError, match="must be a finite number"):
        require_finite("x", value)
    assert require_finite("x", 2) == 2.0


HUGE = 10**400  # a valid JSON integer beyond a float's range


@pytest.mark.parametrize(
    "change",
    [
        {"duration_s": HUGE},
        {"total_energy_j": HUGE},
        {"power_w_by_wavelength": {"810": HUGE}},
        {"mode": "pulsed", "frequency_hz": HUGE, "duty_cycle": 0.5},
        {"mode": "pulsed", "frequency_hz": 100.0, "duty_cycle": -HUGE},
        {"power_w_by_wavelength": {"810": 6.0, "810.0": 4.0}, "total_energy_j": 120.0},  # 810 nm twice
        {"duration_s": True},
        {"handpiece": ["large-standoff"]},
        {"device": "x" * 5000},  # longer than any file name: the profile lookup must not crash
        {"device": "/"},
    ],
)
def test_treat_cli_refuses_huge_or_mistyped_fields_with_one_line_and_exit_2(cli, tmp_path, change):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**PLAN, **change}))
    result = cli("treat", "--plan", path, "--device", "tcp://127.0.0.1:1", "--operator", "A")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("laserdose: error: ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"device": "15w-dual", "mode": "\xff"}', b"\x00" * 10, b""],
)
def test_treat_cli_refuses_a_plan_file_that_is_not_json_text(cli, tmp_path, content):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    result = cli("treat", "--plan", path, "--device", "tcp://127.0.0.1:1", "--operator", "A")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("laserdose: error: ") and result.stderr.count("\n") == 1


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(HUGE) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_FIELDS = [*PLAN, "frequency_hz", "duty_cycle"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(st.sampled_from(_FIELDS), _JSON, min_size=1, max_size=4),
    dropped=st.sets(st.sampled_from(_FIELDS), max_size=2),
)
def test_treat_cli_gives_exit_2_and_one_line_on_any_bad_plan(cli, tmp_path, profile, changes, dropped):
    data = {k: v for k, v in {**PLAN, **changes}.items() if k not in dropped}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    try:
        plan_delivery(data, profile)
    except InputError:
        valid = False
    else:
        valid = True  # a mutation that happens to be a good plan: it gets as far as the (absent) machine
    result = cli("treat", "--plan", path, "--device", "tcp://127.0.0.1:1", "--operator", "A", "--no-qa-gate")
    assert result.exit_code == (3 if valid else 2), result.output
    assert "Traceback" not in result.output
    if not valid:
        assert result.stderr.startswith("laserdose: error: ") and result.stderr.count("\n") == 1
