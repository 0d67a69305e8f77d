"""`laserdose tables build --scheduler`: a bad or unreachable scheduler is one line on stderr, exit 2."""

from dask_cluster import require_distributed


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
