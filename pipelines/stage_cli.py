"""What every pipeline CLI does around its Beam job, so that a stage run alone (``python -m pipelines.curate``,
``annotate``, ``mix``, ``synth``) is as safe as the same stage inside ``python -m pipelines.run``:

* it holds the output lock (``pipelines.lock``) and first sweeps the temporary files a killed run left;
* it runs the job as a stage (``pipelines.stages.run_stage``): skipped when its marker matches (``--force`` re-runs
  it), retried only when a retry can help, outputs cleared before each attempt, and the same completion marker a
  factory run writes;
* before the marker, it checks the stage's own balance from the counts it wrote (``pipelines.balance``) and prints
  a one-line summary; a failure of any kind ends the CLI with one line, ``error: ...``, and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.runners.runner import PipelineState

from pipelines.atomic import sweep_temp
from pipelines.balance import Balance, Unbalanced, check_stage, require_balance
from pipelines.config import ConfigError
from pipelines.failures import cli_error
from pipelines.isolation import SystemicError
from pipelines.lock import LOCK_NAME, OutputLock, OutputLocked
from pipelines.options import beam_options
from pipelines.progress import ProgressFnApiRunner, ProgressLog, factory_counters, watch
from pipelines.stages import DiskFullError, StageFailed, StageOutcome, chain_fingerprints, run_stage
from pipelines.workload import workload

log = logging.getLogger(__name__)
LOCK_TEMP = (f".{LOCK_NAME}",)  # the lock's own heartbeat temp file, never swept
CLI_ERRORS = (ConfigError, DiskFullError, StageFailed, OutputLocked, Unbalanced, SystemicError)


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def run_pipeline(
    build: Callable[[beam.Pipeline, dict], object],
    config: dict,
    beam_argv: Sequence[str],
    progress_s: float = 0.0,
    name: str = "job",
    progress: ProgressLog | None = None,
) -> dict[str, int]:
    """Run one Beam job to completion (any runner); return its factory counters. Raises if the job fails.

    ``progress``: a ProgressLog shared by several jobs (local batches), fed but not finished here."""
    options = beam_options(beam_argv)
    shared = progress is not None
    if progress is None and progress_s > 0:
        progress = ProgressLog(name, progress_s, work=workload(name, config))
    runner = None
    if progress and options.view_as(StandardOptions).runner == "FnApiRunner":
        runner = ProgressFnApiRunner(progress)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build(pipeline, config)
    result = pipeline.run()
    state = watch(result, progress) if progress and runner is None else result.wait_until_finish()
    if state not in (None, PipelineState.DONE):
        raise RuntimeError(f"{name}: job ended in state {state}")
    if progress and not shared:
        progress.finish()
    counters = result.metrics().query()["counters"]
    return factory_counters({c.key: (c.committed if c.committed is not None else c.attempted) for c in counters})


def run_job(
    name: str,
    build: Callable[[beam.Pipeline, dict], object],
    config: dict,
    beam_argv: Sequence[str],
    progress_s: float = 0.0,
) -> dict[str, int]:
    """A stage's job: on the local runner curate runs in bounded batches (``pipelines.local_batches``) and mix in
    slices (``pipelines.mix_slices``) where the data needs it; every other job is one Beam job."""
    from pipelines.malloc import tune_malloc

    tune_malloc()  # before the runner starts its workers: they inherit the settings
    if name == "curate":
        from pipelines.local_batches import run_curate

        return run_curate(config, beam_argv, progress_s)
    if name == "mix":
        from pipelines.mix_slices import run_mix

        return run_mix(build, config, beam_argv, progress_s)
    return run_pipeline(build, config, beam_argv, progress_s, name)


def add_stage_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--force``, ``--retries``, ``--progress_s``: the stage flags ``pipelines.run`` has too."""
    parser.add_argument("--force", action="store_true", help="re-run even if a completion marker matches")
    parser.add_argument("--retries", type=int, default=2, help="job retries after a failure that a retry can fix")
    parser.add_argument("--progress_s", type=float, default=10.0, help="log counters every N seconds (0: off)")
    return parser


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """A CLI's known failures (config, lock, disk full, stage failed, unbalanced) → one line and exit status 1."""
    try:
        yield
    except CLI_ERRORS as err:
        raise SystemExit(cli_error(err)) from err


@dataclass
class StageRun:
    run_id: str
    outcome: StageOutcome
    balance: Balance


def stage_fingerprint(config: dict, name: str, variant: str = "") -> str:
    """The factory's fingerprint of the stage (chained on its upstream stages); ``variant`` folds in a CLI flag
    that changes the outputs (``mix --no-annotations``)."""
    fp = chain_fingerprints(config, [name])[name]
    return hashlib.sha256(f"{fp}|{variant}".encode()).hexdigest()[:32] if variant else fp


def run_standalone(
    name: str,
    build: Callable[[beam.Pipeline, dict], object],
    args: argparse.Namespace,
    config: dict,
    beam_argv: Sequence[str],
    variant: str = "",
    finish: Callable[[str], None] | None = None,
) -> StageRun:
    """Run stage ``name`` alone under the output lock, as a stage with a marker, and check its balance (see the
    module docstring). ``finish(run_id)`` runs after the job and before the balance check (synth's manifest)."""
    out = config["run"]["output"]
    run_id = new_run_id()
    balance: list[Balance] = []

    def job() -> dict[str, int]:
        return run_job(name, build, config, beam_argv, args.progress_s)

    def check() -> None:
        if finish is not None:
            finish(run_id)
        balance.append(require_balance(name, config))

    with OutputLock(out, run_id, command=f"pipelines.{name}"):
        swept = sweep_temp(out, keep=LOCK_TEMP)
        if swept:
            log.info("%s: removed %d temporary files of an interrupted run", name, swept)
        fp = stage_fingerprint(config, name, variant)
        outcome = run_stage(name, out, fp, job, retries=args.retries, force=args.force, check=check)
        result = StageRun(run_id, outcome, balance[-1] if balance else check_stage(name, config))
    how = f"ran in {outcome.seconds:.1f} s" if outcome.status == "ran" else "complete from an earlier run, skipped"
    print(f"{name} {run_id}: {how}; {result.balance.line()}")
    return result


__all__ = [
    "CLI_ERRORS",
    "LOCK_TEMP",
    "StageRun",
    "add_stage_flags",
    "cli_errors",
    "new_run_id",
    "run_job",
    "run_pipeline",
    "run_standalone",
    "stage_fingerprint",
]
