"""Workers of a Dask cluster on this machine write their own runs (the parent only the manifest);
a cluster with any worker elsewhere, or one that cannot be asked, gets the results back."""

from __future__ import annotations

import pytest

from sim.experiments.runner import _workers_here


class FakeClient:
    def __init__(self, addresses, fails: bool = False) -> None:
        self.addresses, self.fails = addresses, fails

    def scheduler_info(self) -> dict:
        if self.fails:
            raise OSError("scheduler gone")
        return {"workers": {a: {} for a in self.addresses}}


@pytest.mark.parametrize("addresses, here", [
    (["tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"], True),
    (["tcp://localhost:40001", "tls://[::1]:40002"], True),
    (["tcp://127.0.0.1:40001", "tcp://10.0.0.7:40002"], False),
    ([], False),
])
def test_only_workers_all_on_this_machine_write_their_runs(addresses, here):
    assert _workers_here(FakeClient(addresses)) is here


def test_a_cluster_that_cannot_be_asked_gets_its_results_written_by_the_parent():
    assert _workers_here(FakeClient([], fails=True)) is False
