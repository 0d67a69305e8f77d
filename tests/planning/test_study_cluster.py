"""Studies and tables on real Dask clusters give the same bits as in this process.

A LocalCluster, and a real `dask scheduler` with two `dask worker` processes on loopback; one worker is
killed (SIGKILL) in the middle of a study and the study still completes with identical results. The
Monte Carlo is tiny (1,000 photons per run): these tests check where tasks run, not the physics.
"""

import numpy as np
import pytest

from dask_cluster import require_distributed
from laserdose.machines.profile import load_profile
from laserdose.planning.cohort import parse_cohort
from laserdose.planning.study import patient_tasks, run_study
from laserdose.thermal.surrogate.model import skin_rise_k_per_w
from laserdose.transport.tables import build_table
from plan_documents import treatment_plan

PHOTONS = 1000
COHORT = {
    "patients": 10,
    "seed": 11,
    "device": "15w-dual",
    "bmi": {"distribution": "normal", "mean": 27.0, "sd": 5.0},
    "skin_type_weights": [0.15, 0.25, 0.25, 0.15, 0.1, 0.1],
}
TABLE_AXES = {"wavelengths_nm": (810.0,), "skin_types": (2, 6), "fat_mm": (5.0,)}


@pytest.fixture(scope="module")
def tasks():
    return patient_tasks(
        parse_cohort(COHORT), treatment_plan(), load_profile("15w-dual"), PHOTONS, skin_rise_k_per_w
    )


@pytest.fixture(scope="module")
def local_outcomes(tasks):
    return run_study(tasks)


@pytest.fixture(scope="module")
def local_table():
    return build_table(PHOTONS, 5, **TABLE_AXES)


def test_study_on_a_local_cluster_is_identical_to_the_local_run(tasks, local_outcomes):
    require_distributed()
    assert run_study(tasks, scheduler="local") == local_outcomes


def test_table_on_a_real_cluster_is_identical_to_the_local_build(real_cluster, local_table):
    table = build_table(PHOTONS, 5, **TABLE_AXES, scheduler=real_cluster.address)
    assert np.array_equal(table.factors, local_table.factors)
    assert np.array_equal(table.z_centres_mm, local_table.z_centres_mm)


def _patients_running_on(client, name):
    workers = client.scheduler_info()["workers"]
    address = next(address for address, worker in workers.items() if worker["name"] == name)
    return len(client.processing(workers=[address])[address])


def test_study_survives_a_worker_killed_mid_study_with_identical_results(real_cluster, tasks, local_outcomes):
    import distributed

    killed_at = []

    def kill_first_worker_after_one_patient(done, total):
        if not killed_at:
            with distributed.Client(real_cluster.address, set_as_default=False) as spy:
                running = _patients_running_on(spy, "w0")
            real_cluster.kill_worker(0)
            killed_at.append((done, total, running))

    outcomes = run_study(tasks, scheduler=real_cluster.address, progress=kill_first_worker_after_one_patient)
    done, total, running = killed_at[0]
    assert done < total and running >= 1  # the worker died with patients of its own still to simulate
    assert real_cluster.workers[0].poll() is not None
    with distributed.Client(real_cluster.address) as client:
        assert len(client.scheduler_info()["workers"]) == 1  # the scheduler saw it go
    assert outcomes == local_outcomes
