"""The notebooks' helpers give the same tables in this process and on an executor (the batch
runner's path: plain-data configs, :func:`sim.runner.execute_run`)."""

import concurrent.futures as cf

import pandas as pd
import pytest

from sim.explorer import levers as explore


@pytest.fixture(scope="module")
def tiny():
    return explore.scenario("coordinated", n_units=300, steps=1)


@pytest.mark.slow
def test_run_replicates_same_tables_serial_and_on_an_executor(tiny):
    other = explore.with_values(tiny, {"switches.enclave": False}, name="no_enclave")
    serial = explore.run_replicates([tiny, other], replicates=2, seed=3)
    with cf.ThreadPoolExecutor(2) as pool:
        pooled = explore.run_replicates([tiny, other], replicates=2, seed=3, executor=pool)
    for name in ("circle", "cities", "transfers", "manifest"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(pooled, name))
    assert list(serial.manifest["run"]) == ["coordinated/r0", "coordinated/r1",
                                            "no_enclave/r0", "no_enclave/r1"]
    assert not serial.cities.query("scenario == 'coordinated' and replicate == 0").equals(
        serial.cities.query("scenario == 'coordinated' and replicate == 1"))


@pytest.mark.slow
def test_map_noise_same_serial_and_on_an_executor(tiny):
    serial = explore.map_noise(tiny, [0.0, 0.5], replicates=2, seed=2)
    with cf.ThreadPoolExecutor(2) as pool:
        pooled = explore.map_noise(tiny, [0.0, 0.5], replicates=2, seed=2, executor=pool)
    pd.testing.assert_frame_equal(serial, pooled)
    assert (serial.query("noise_sd == 0")["agreement"] == 1.0).all()
    assert len(serial) == 4


def test_a_failed_run_on_an_executor_names_the_run(tiny):
    broken = explore.with_values(tiny, {"steps": 1}, name="broken")
    broken = broken.model_copy(update={"data_dir": "/nonexistent-data-folder"})
    failed = pytest.raises(RuntimeError, match="^run broken/r0 failed: ")
    with cf.ThreadPoolExecutor(1) as pool, failed:
        explore.run_replicates([broken], replicates=1, executor=pool)
