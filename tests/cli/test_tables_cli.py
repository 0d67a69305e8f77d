"""`laserdose tables build --scheduler`: a bad or unreachable scheduler is one line on stderr, exit 2."""

import dataclasses
import json

import numpy as np

from dask_cluster import require_distributed
from laserdose.transport.tables import FluenceTable


def test_scheduler_must_be_local_or_an_address(cli, tmp_path):
    result = cli("tables", "build", "--scheduler", "ftp://example:8786", "--out", tmp_path / "t.npz")
    assert result.exit_code == 2
    assert "scheduler must be 'local' or a Dask scheduler address" in result.stderr
    assert not (tmp_path / "t.npz").exists()


def test_unreachable_scheduler_is_an_input_error(cli, tmp_path, monkeypatch):
    require_distributed()
    from laserdose.transport import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    # Port 9 (discard) on loopback: nothing listens there in a test environment.
    result = cli(
        "tables", "build", "--scheduler", "tcp://127.0.0.1:9", "--photons", "1000", "--wavelength", "810"
    )
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def test_precise_refuses_an_impossible_target_in_one_line(cli, tmp_path):
    result = cli("tables", "precise", "--target-se", "0", "--out", tmp_path / "t.npz")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "laserdose: error: target relative SE must be between 0 and 1, got 0"
    ]
    assert not (tmp_path / "t.npz").exists()


def test_check_refuses_a_table_without_standard_errors(cli, tmp_path):
    from laserdose.planning.physics import shipped_table_path

    # A table of fixed photons per entry (the old shipped one) has no SEs to check.
    plain = tmp_path / "plain.npz"
    dataclasses.replace(FluenceTable.load(shipped_table_path()), se=None, entry_photons=None).save(plain)
    result = cli("tables", "check", plain)
    assert result.exit_code == 2
    assert "no standard errors" in result.stderr


def test_precise_then_check_a_tiny_table(cli, tmp_path):
    out, checkpoint = tmp_path / "tiny.npz", tmp_path / "ck"
    args = ["--wavelength", "810", "--skin-type", "3", "--fat", "2", "--fat", "5", "--batches", "8"]
    caps = ["--target-se", "0.05", "--first-photons", "1600", "--max-photons", "1600"]
    result = cli("tables", "precise", *args, *caps, "--checkpoint", checkpoint, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["entries"] == 2 and report["photons"] == 3200
    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "pass-000-810nm-fat2mm-types3.npz",
        "pass-001-810nm-fat5mm-types3.npz",
    ]
    table = FluenceTable.load(out)
    assert table.se is not None and table.se.shape == table.factors.shape
    assert table.entry_photons.tolist() == [[[1600, 1600]]]
    # 1600 photons cannot resolve 47-50 mm to 5 % (~1e6 can): the build says so, the check fails (exit 1).
    assert report["entries_at_cap"] == 2 and report["worst"]["relative_se"] > 0.05
    checked = cli("tables", "check", out, "--target-se", "0.05", "--json")
    assert checked.exit_code == 1
    assert json.loads(checked.stdout)["passed"] is False


def test_precise_traces_the_skin_types_of_a_wavelength_and_fat_in_one_pass(cli, tmp_path):
    out, checkpoint = tmp_path / "types.npz", tmp_path / "ck"
    args = ["--wavelength", "810", "--skin-type", "1", "--skin-type", "6", "--fat", "5", "--batches", "8"]
    caps = ["--target-se", "0.05", "--first-photons", "1600", "--max-photons", "1600", "--to-depth", "10"]
    result = cli("tables", "precise", *args, *caps, "--checkpoint", checkpoint, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    # Two entries, one pass of 1600 photons (traced once, scored for both types).
    assert report["entries"] == 2 and report["photons"] == 1600
    assert [p.name for p in checkpoint.iterdir()] == ["pass-000-810nm-fat5mm-types1-6.npz"]
    table = FluenceTable.load(out)
    assert table.entry_photons.tolist() == [[[1600], [1600]]]
    assert np.all(table.factors[0, 1, 0, :, 5] < table.factors[0, 0, 0, :, 5])  # type VI: less light, 5.5 mm
