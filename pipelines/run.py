"""The whole factory on one config: curate → annotate → mix, then the RunManifest and the HTML report.

    python -m pipelines.run                      # the bundled sample, locally, on every core → out/
    python -m pipelines.run --config my.yaml --output gs://bucket/run1 --runner=DataflowRunner --project=... ...

Each pipeline is its own Beam job reading the previous one's Parquet, so any stage can be re-run alone
(python -m pipelines.curate / annotate / mix take the same flags). Re-running skips the stages whose completion
marker matches (``pipelines/stages.py``; ``--force`` re-runs them), retries a failed job (``--retries``), and logs
the factory counters while a job runs (``--progress_s``).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.runners.runner import PipelineState

from pipelines import layout
from pipelines.annotate import build_annotate
from pipelines.config import ConfigError
from pipelines.curate import build_curate
from pipelines.manifest import build_manifest, now, read_counts, standard_outputs, write_manifest
from pipelines.mix import build_mix
from pipelines.options import base_parser, beam_options, parse, setup_logging
from pipelines.progress import ProgressFnApiRunner, ProgressLog, factory_counters, watch
from pipelines.report import write_report
from pipelines.stages import DiskFullError, StageFailed, StageOutcome, chain_fingerprints, run_stage
from pipelines.synth import build_synth

log = logging.getLogger(__name__)
PIPELINES = ("curate", "annotate", "mix")
ORDER = ("curate", "annotate", "synth", "mix")  # the factory order; synth runs only when synth.enabled or asked for
BUILDERS: dict[str, Callable[[beam.Pipeline, dict], object]] = {
    "curate": build_curate,
    "annotate": build_annotate,
    "synth": build_synth,
    "mix": build_mix,
}


def run_pipeline(
    build: Callable[[beam.Pipeline, dict], object],
    config: dict,
    beam_argv: Sequence[str],
    progress_s: float = 0.0,
    name: str = "job",
) -> dict[str, int]:
    """Run one Beam job to completion (any runner); return its factory counters. Raises if the job fails."""
    options = beam_options(beam_argv)
    progress = ProgressLog(name, progress_s) if progress_s > 0 else None
    runner = None
    if progress and options.view_as(StandardOptions).runner == "FnApiRunner":
        runner = ProgressFnApiRunner(progress)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build(pipeline, config)
    result = pipeline.run()
    state = watch(result, progress) if progress and runner is None else result.wait_until_finish()
    if state not in (None, PipelineState.DONE):
        raise RuntimeError(f"{name}: job ended in state {state}")
    if progress:
        progress.finish()
    counters = result.metrics().query()["counters"]
    return factory_counters({c.key: (c.committed if c.committed is not None else c.attempted) for c in counters})


@dataclass
class FactoryRun:
    manifest: dict
    stages: dict[str, StageOutcome]


def factory_parser():
    """The CLI of ``python -m pipelines.run`` (our flags; unknown ones go to Beam)."""
    parser = base_parser(__doc__)
    parser.add_argument(
        "--pipelines",
        default=None,
        help="comma list of pipelines to run, in order (default curate,annotate,mix; synth after annotate when "
        "synth.enabled)",
    )
    parser.add_argument(
        "--force", default="", help="comma list of pipelines to re-run even if complete ('all' for every one)"
    )
    parser.add_argument("--retries", type=int, default=2, help="job retries per pipeline after a failure")
    parser.add_argument("--progress_s", type=float, default=10.0, help="log counters every N seconds (0: off)")
    return parser


def run_factory(argv: Sequence[str] | None = None) -> FactoryRun:
    setup_logging()
    args, config, beam_argv = parse(factory_parser(), argv)
    out = config["run"]["output"]
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = now()
    if args.pipelines is None:
        selected = [p for p in ORDER if p != "synth" or config["synth"].get("enabled", False)]
    else:
        selected = [p for p in args.pipelines.split(",") if p]
    unknown = sorted(set(selected) - set(BUILDERS))
    if unknown:
        raise SystemExit(f"--pipelines: unknown {unknown}; known: {list(BUILDERS)}")
    forced = set(ORDER) if args.force == "all" else {p for p in args.force.split(",") if p}
    fps = chain_fingerprints(config, selected, ORDER)
    outcomes: dict[str, StageOutcome] = {}
    for name in selected:
        log.info("running %s", name)

        def job(name: str = name) -> dict[str, int]:
            return run_pipeline(BUILDERS[name], config, beam_argv, args.progress_s, name)

        outcomes[name] = run_stage(name, out, fps[name], job, retries=args.retries, force=name in forced)
        log.info("%s %s in %.1f s", name, outcomes[name].status, outcomes[name].seconds)
    timings = {n: o.seconds for n, o in outcomes.items()}
    metrics = {k: v for o in outcomes.values() for k, v in o.counters.items()}
    counts = read_counts(out, [*PIPELINES, *(["synth"] if "synth" in selected else [])])  # no stale synth counts
    manifest = build_manifest(
        config, "run", run_id, started, counts, standard_outputs(out, config["annotate"]["tasks"])
    )
    write_manifest(manifest, out)
    report = write_report(manifest, timings, metrics, out, stages=outcomes)
    t = manifest["totals"]
    print(
        f"run {run_id}: {t['input']} documents in → {t['kept']} kept, {t['rejected']} rejected, "
        f"{t['duplicate']} duplicate ({'balanced' if manifest['balanced'] else 'NOT BALANCED'}); "
        f"wall {sum(timings.values()):.1f} s ("
        + ", ".join(f"{k} {o.status} {o.seconds:.1f} s" for k, o in outcomes.items())
        + f")\nmanifest: {layout.manifest_path(out)}\nreport:   {report}"
    )
    if not manifest["balanced"]:
        raise SystemExit("run manifest does not balance: some documents are unaccounted for")
    return FactoryRun(manifest, outcomes)


def main(argv: Sequence[str] | None = None) -> dict:
    """The CLI: a bad config, a full disk or a stage failing every retry ends with one clear line, exit status 1."""
    try:
        return run_factory(argv).manifest
    except (ConfigError, DiskFullError, StageFailed) as err:
        cause = f" (cause: {str(err.__cause__).splitlines()[0][:300]})" if err.__cause__ else ""
        raise SystemExit(f"error: {err}{cause}") from err


if __name__ == "__main__":
    main(sys.argv[1:])
