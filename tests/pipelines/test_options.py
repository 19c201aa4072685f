"""The local default runs on every core: Beam's own default for ``direct_num_workers`` is 1, which left all but one
core idle; a worker count the user gives is kept as given."""

from __future__ import annotations

import os

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions
from apache_beam.testing.util import assert_that

from pipelines.options import beam_options


def test_the_local_default_is_one_worker_per_core():
    direct = beam_options([]).view_as(DirectOptions)
    assert direct.direct_num_workers == (os.cpu_count() or 1)
    assert direct.direct_running_mode == "multi_processing"


@pytest.mark.parametrize("argv", [["--direct_num_workers=1"], ["--direct_num_workers", "1"]])
def test_a_given_worker_count_is_kept(argv):
    assert beam_options(argv).view_as(DirectOptions).direct_num_workers == 1


def test_another_runner_is_left_alone():
    options = beam_options(["--runner=DataflowRunner"])
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.view_as(DirectOptions).direct_num_workers == 1  # Beam's default, unused by Dataflow


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_work_after_a_shuffle_is_spread_over_worker_processes():
    """With the default options, elements after a Reshuffle are processed by more than one SDK worker process."""

    def several_pids(pids):
        assert len(set(pids)) >= 2, f"all elements ran in one process: {set(pids)}"

    with beam.Pipeline(options=beam_options([])) as p:
        pids = p | beam.Create(range(16)) | beam.Reshuffle() | beam.Map(lambda _: os.getpid())
        assert_that(pids, several_pids)
