"""Adaptive fluence-table entries: the read region, stopping at the target or the cap, checkpoints, passes."""

import dataclasses

import numpy as np
import pytest

from laserdose.errors import InputError
from laserdose.transport.batch_stats import relative_se
from laserdose.transport.precise_tables import EntryTask, Precision, read_region, run_entries
from laserdose.transport.tables import TableEntry

# A cheap entry: shallow read region, loose target, few photons (a second or two of CPU each run).
ENTRY = TableEntry(810.0, 2, 10.0, (10.0, 30.0), photons=0, seed=5)
CHEAP = Precision(target_relative_se=0.05, to_depth_mm=8.0, batches=8, first_photons=800, max_photons=200_000)


def run_entry(task_of_one: EntryTask):
    [outcome] = run_entries(task_of_one)
    return outcome


def _task(entry: TableEntry, precision: Precision, checkpoint: str | None = None) -> EntryTask:
    return EntryTask((0,), (entry,), precision, checkpoint)


def test_read_region_holds_every_bin_an_interpolation_to_the_depth_touches():
    centres = np.arange(100) + 0.5
    region = read_region(centres, 3, 60.0)
    assert region.shape == (3, 100)
    # 60 mm lies between the centres 59.5 and 60.5: both are read, 61.5 is not.
    assert region[:, 60].all() and not region[:, 61].any()
    assert read_region(centres, 1, 60.5)[0].sum() == 61


def test_entry_grows_its_photons_until_the_target_is_met():
    outcome = run_entry(_task(ENTRY, CHEAP))
    assert outcome.reached
    assert outcome.rounds >= 2 and outcome.photons > CHEAP.first_photons
    region = read_region(np.arange(100) + 0.5, 2, CHEAP.to_depth_mm)
    worst = np.max(np.where(region, relative_se(outcome.factors, outcome.se), 0.0))
    assert worst == pytest.approx(outcome.worst_relative_se) and worst <= CHEAP.target_relative_se


def test_entry_stops_at_the_cap_and_says_so():
    capped = dataclasses.replace(CHEAP, target_relative_se=1e-4, max_photons=1600)
    outcome = run_entry(_task(ENTRY, capped))
    assert not outcome.reached
    assert outcome.photons == 1600
    assert outcome.worst_relative_se > 1e-4


def test_an_interrupted_entry_resumes_to_the_same_bits(tmp_path):
    whole = run_entry(_task(ENTRY, CHEAP))
    # "Interrupted" after its first round: a build capped there leaves that round in the checkpoint.
    first_round = dataclasses.replace(CHEAP, max_photons=CHEAP.first_photons)
    run_entry(_task(ENTRY, first_round, str(tmp_path)))
    resumed = run_entry(_task(ENTRY, CHEAP, str(tmp_path)))
    assert resumed.rounds == whole.rounds
    assert np.array_equal(resumed.factors, whole.factors)
    assert np.array_equal(resumed.se, whole.se)


def test_a_checkpoint_of_another_entry_is_refused(tmp_path):
    run_entry(_task(ENTRY, dataclasses.replace(CHEAP, max_photons=CHEAP.first_photons), str(tmp_path)))
    other_seed = dataclasses.replace(ENTRY, seed=6)
    with pytest.raises(InputError, match="other optics, radii, seed, batches or kernel"):
        run_entry(_task(other_seed, CHEAP, str(tmp_path)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target_relative_se": 0.0}, "target relative SE"),
        ({"to_depth_mm": 99.6}, "to-depth must be"),
        ({"batches": 1}, "batches must be"),
        ({"first_photons": 10}, "first photons must be"),
        ({"max_photons": 100}, "first photons must be"),
    ],
)
def test_precision_refuses_what_a_build_cannot_honour(change, message):
    with pytest.raises(InputError, match=message):
        dataclasses.replace(CHEAP, **change)


def test_a_checkpoint_from_another_kernel_is_refused(tmp_path, monkeypatch):
    from laserdose.transport import precise_tables

    run_entry(_task(ENTRY, dataclasses.replace(CHEAP, max_photons=CHEAP.first_photons), str(tmp_path)))
    monkeypatch.setattr(precise_tables, "kernel_fingerprint", lambda: (1.0, 2.0))  # as after a kernel edit
    with pytest.raises(InputError, match="or kernel than this build"):
        run_entry(_task(ENTRY, CHEAP, str(tmp_path)))


def test_the_skin_types_of_a_wavelength_and_fat_are_traced_in_one_pass():
    # One pass scores every skin type; the pass runs until its worst entry meets the target, so every
    # entry does. Its first round equals the light entry's own first round bit for bit (the same seed and
    # paths), and the dark entry agrees with the dark type traced alone within 4 combined SE.
    dark = dataclasses.replace(ENTRY, skin_type=6)
    both = run_entries(EntryTask((3, 4), (ENTRY, dark), CHEAP))
    assert [o.index for o in both] == [3, 4] and all(o.reached for o in both)
    assert both[0].photons == both[1].photons and both[0].cpu_s == both[1].cpu_s
    one_round = dataclasses.replace(CHEAP, max_photons=CHEAP.first_photons)
    [light_alone] = run_entries(EntryTask((3,), (ENTRY,), one_round))
    [light_in_pass, _] = run_entries(EntryTask((3, 4), (ENTRY, dark), one_round))
    assert np.array_equal(light_in_pass.factors, light_alone.factors)
    [dark_alone] = run_entries(EntryTask((4,), (dark,), CHEAP))
    depth = 5  # the 5.5 mm bin, inside the read region
    difference = both[1].factors[:, depth] - dark_alone.factors[:, depth]
    assert np.all(np.abs(difference) <= 4 * np.hypot(both[1].se[:, depth], dark_alone.se[:, depth]))
    assert np.all(both[1].factors[:, depth] < both[0].factors[:, depth])  # darker skin, less light


def test_a_pass_refuses_entries_it_cannot_trace_together():
    with pytest.raises(InputError, match="share their wavelength, fat and radii"):
        EntryTask((0, 1), (ENTRY, dataclasses.replace(ENTRY, fat_mm=20.0)), CHEAP)
    with pytest.raises(InputError, match="one index each"):
        EntryTask((0,), (ENTRY, ENTRY), CHEAP)
