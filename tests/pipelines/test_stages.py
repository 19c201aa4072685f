"""Retries only for what can succeed on retry, and one clean line saying why a stage failed.

Fast: the jobs are plain callables (the stage runner never looks inside them), except one real in-process Beam job
that raises a SystemicError in a worker-side DoFn, so the classification is checked on what a runner really raises.
"""

from __future__ import annotations

import errno

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import run as run_module
from pipelines import stages
from pipelines.config import ConfigError
from pipelines.failures import TRACEBACK_HEAD, cause_key, cli_error, one_line_cause
from pipelines.isolation import SystemicError

SYSTEMIC = "curate: 100 records in a row failed with ValueError; first record id=doc-17: ValueError: bad byte"
# What FnApiRunner raises when a worker's DoFn failed: a RuntimeError whose message is the worker's traceback text.
BEAM_TEXT = f"""{TRACEBACK_HEAD}
  File "apache_beam/runners/common.py", line 1512, in apache_beam.runners.common.DoFnRunner.process
  File "/work/pipelines/curate_steps.py", line 88, in process
    raise SystemicError(msg)
pipelines.isolation.SystemicError: {SYSTEMIC}

During handling of the above exception, another exception occurred:

{TRACEBACK_HEAD}
  File "/venv/site-packages/apache_beam/runners/worker/sdk_worker.py", line 310, in _execute
    response = task()
  File "apache_beam/runners/common.py", line 1623, in apache_beam.runners.common.DoFnRunner._reraise_augmented
pipelines.isolation.SystemicError: {SYSTEMIC} [while running 'Normalize']
"""
VALUE_TEXT = f"""{TRACEBACK_HEAD}
  File "apache_beam/runners/common.py", line 1512, in apache_beam.runners.common.DoFnRunner.process
  File "/work/pipelines/mixing.py", line 230, in process
    data = encode(rows)
KeyError: 'text'

During handling of the above exception, another exception occurred:

{TRACEBACK_HEAD}
  File "apache_beam/runners/common.py", line 1623, in apache_beam.runners.common.DoFnRunner._reraise_augmented
KeyError: "'text' [while running 'WriteShards']"
"""


class Job:
    """A stage job that raises the given errors in turn, then returns counters; counts its attempts."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.attempts = 0

    def __call__(self) -> dict[str, int]:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"curate/kept": 1}


def _run(tmp_path, job: Job, retries: int = 2) -> stages.StageOutcome:
    return stages.run_stage("curate", str(tmp_path), "fp", job, retries=retries, backoff_s=0)


# ------------------------------------------------------------------------------------------------- retry policy


def test_a_deterministic_failure_stops_after_its_second_identical_attempt(tmp_path):
    job = Job(*(RuntimeError(VALUE_TEXT) for _ in range(5)))
    with pytest.raises(stages.StageFailed) as err:
        _run(tmp_path, job, retries=5)
    assert job.attempts == 2  # not 6: the same cause twice cannot succeed on a third try
    assert "curate: failed after 2 attempts, not retried (the same failure twice: deterministic)" in str(err.value)
    assert "KeyError" in str(err.value) and TRACEBACK_HEAD not in str(err.value)
    assert not list(tmp_path.rglob("*.json"))  # no marker


def test_a_systemic_error_is_attempted_once(tmp_path):
    job = Job(SystemicError(SYSTEMIC), RuntimeError("never reached"))
    with pytest.raises(stages.StageFailed, match=r"^curate: failed after 1 attempt, not retried \(systemic\)"):
        _run(tmp_path, job)
    assert job.attempts == 1


def test_a_systemic_error_known_only_from_the_runners_text_is_attempted_once_and_named(tmp_path):
    job = Job(RuntimeError(BEAM_TEXT))
    with pytest.raises(stages.StageFailed) as err:
        _run(tmp_path, job)
    assert job.attempts == 1
    message = str(err.value)
    assert message.startswith("curate: failed after 1 attempt, not retried (systemic): SystemicError: curate: ")
    assert "first record id=doc-17" in message and "ValueError" in message
    assert "\n" not in message and TRACEBACK_HEAD not in message


def test_config_errors_are_not_retried(tmp_path):
    job = Job(ConfigError("langid.batch_size: a positive integer is required, got 'lots'"))
    with pytest.raises(ConfigError, match=r"langid\.batch_size"):  # raised here: passed on as it is
        _run(tmp_path, job)
    assert job.attempts == 1
    in_worker = Job(RuntimeError(f"{TRACEBACK_HEAD}\n  File 'x'\npipelines.config.ConfigError: dedup.bands: bad\n"))
    with pytest.raises(stages.StageFailed, match=r"not retried \(config error\): ConfigError: dedup.bands: bad"):
        _run(tmp_path, in_worker)
    assert in_worker.attempts == 1


def test_disk_full_is_not_retried(tmp_path):
    job = Job(OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(stages.DiskFullError):
        _run(tmp_path, job)
    assert job.attempts == 1


def test_a_transient_failure_is_retried_and_the_stage_completes(tmp_path):
    job = Job(RuntimeError("HTTP 503 from the model server"))
    outcome = _run(tmp_path, job)
    assert (outcome.status, outcome.attempts, job.attempts) == ("ran", 2, 2)
    assert stages.is_complete(str(tmp_path), "curate", "fp")


def test_different_failures_are_retried_up_to_the_limit(tmp_path):
    job = Job(RuntimeError("first"), RuntimeError("second"), RuntimeError("third"))
    with pytest.raises(stages.StageFailed, match=r"^curate: failed after 3 attempts: RuntimeError: third"):
        _run(tmp_path, job, retries=2)
    assert job.attempts == 3


def test_a_worker_that_died_is_retried_even_when_it_dies_the_same_way(tmp_path):
    died = "Pipeline failed: RuntimeError: Channel closed prematurely."
    job = Job(RuntimeError(died), RuntimeError(died))
    outcome = _run(tmp_path, job, retries=2)
    assert (outcome.status, job.attempts) == ("ran", 3)


def test_a_systemic_error_raised_in_a_real_beam_worker_stops_the_stage_at_once(tmp_path):
    class Systemic(beam.DoFn):
        def process(self, x):
            if x == 3:
                raise SystemicError(SYSTEMIC)
            yield x

    def job() -> dict[str, int]:
        attempts.append(1)
        options = PipelineOptions(["--direct_running_mode=in_memory"])
        with beam.Pipeline(runner="FnApiRunner", options=options) as p:
            p | beam.Create(range(5)) | beam.ParDo(Systemic())
        return {}

    attempts: list[int] = []
    with pytest.raises(stages.StageFailed, match=r"SystemicError: curate: .*first record id=doc-17") as err:
        stages.run_stage("curate", str(tmp_path), "fp", job, retries=2, backoff_s=0)
    assert len(attempts) == 1 and "\n" not in str(err.value)


# ----------------------------------------------------------------------------------------------- one-line cause


def test_the_cause_line_of_a_beam_style_error_is_the_innermost_exception_not_the_traceback_head():
    assert one_line_cause(RuntimeError(VALUE_TEXT)) == "KeyError: \"'text' [while running 'WriteShards']\""
    assert one_line_cause(RuntimeError(BEAM_TEXT)) == f"SystemicError: {SYSTEMIC}"
    wrapped = stages.StageFailed("mix", 1, "x")
    wrapped.__cause__ = RuntimeError(VALUE_TEXT)
    assert one_line_cause(wrapped).startswith("KeyError: ")
    assert one_line_cause(ValueError("plain\nsecond line")) == "ValueError: plain"
    assert one_line_cause(RuntimeError(TRACEBACK_HEAD)) == "RuntimeError"
    for text in (BEAM_TEXT, VALUE_TEXT):
        assert not one_line_cause(RuntimeError(text)).startswith("Traceback")


def test_the_same_failure_has_the_same_key_across_attempts():
    a = RuntimeError(VALUE_TEXT.replace("KeyError: 'text'", "KeyError: <obj at 0x7f3a2c1d>"))
    b = RuntimeError(VALUE_TEXT.replace("KeyError: 'text'", "KeyError: <obj at 0x7f99aa00>"))
    assert cause_key(a) == cause_key(b)
    assert cause_key(RuntimeError("first")) != cause_key(RuntimeError("second"))


def test_cli_errors_are_one_line_with_the_cause_once():
    failed = stages.StageFailed("curate", 1, one_line_cause(RuntimeError(BEAM_TEXT)), "systemic")
    failed.__cause__ = RuntimeError(BEAM_TEXT)
    line = cli_error(failed)
    assert line.startswith("error: curate: failed after 1 attempt") and line.count("SystemicError") == 1
    full = stages.DiskFullError(errno.ENOSPC, "curate: disk full writing under out")
    full.__cause__ = RuntimeError(f"{TRACEBACK_HEAD}\n  File 'x'\nOSError: [Errno 28] No space left on device\n")
    assert cli_error(full).endswith("(cause: OSError: [Errno 28] No space left on device)")
    assert "\n" not in cli_error(full) and TRACEBACK_HEAD not in cli_error(full)


def test_the_factory_cli_exits_with_the_clean_cause(monkeypatch):
    def failing(argv):
        raise stages.StageFailed("curate", 1, one_line_cause(RuntimeError(BEAM_TEXT)), "systemic") from RuntimeError(
            BEAM_TEXT
        )

    monkeypatch.setattr(run_module, "run_factory", failing)
    with pytest.raises(SystemExit) as exit_:
        run_module.main([])
    message = str(exit_.value.code)
    assert message.startswith("error: curate: failed after 1 attempt, not retried (systemic): SystemicError: curate:")
    assert "first record id=doc-17" in message and TRACEBACK_HEAD not in message and "\n" not in message
