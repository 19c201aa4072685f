"""The whole factory on one config: curate → annotate → mix, then the RunManifest and the HTML report.

    python -m pipelines.run                      # the bundled sample, locally, on every core → out/
    python -m pipelines.run --config my.yaml --output gs://bucket/run1 --runner=DataflowRunner --project=... ...

Each pipeline is its own Beam job reading the previous one's Parquet, so any stage can be re-run alone
(python -m pipelines.curate / annotate / mix take the same flags). Re-running skips the stages whose completion
marker matches (``pipelines/stages.py``; ``--force`` re-runs them), retries a failed job when a retry can help
(``--retries``), logs the factory counters while a job runs (``--progress_s``), and holds ``<output>/_lock.json``
for the whole run (``pipelines/lock.py``): a second run on the same output fails at once, naming the first.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import apache_beam as beam

from pipelines import layout
from pipelines.annotate import build_annotate
from pipelines.atomic import sweep_temp
from pipelines.balance import require_balance
from pipelines.curate import build_curate
from pipelines.failures import cli_error
from pipelines.lock import OutputLock
from pipelines.manifest import build_manifest, now, read_counts, standard_outputs, write_manifest
from pipelines.mix import build_mix
from pipelines.options import base_parser, parse, setup_logging
from pipelines.report import write_report
from pipelines.stage_cli import CLI_ERRORS, LOCK_TEMP, new_run_id, run_job
from pipelines.stages import FACTORY_ORDER, StageOutcome, chain_fingerprints, run_stage
from pipelines.synth import build_synth

log = logging.getLogger(__name__)
PIPELINES = ("curate", "annotate", "mix")
ORDER = FACTORY_ORDER  # the factory order; synth runs only when synth.enabled or asked for
BUILDERS: dict[str, Callable[[beam.Pipeline, dict], object]] = {
    "curate": build_curate,
    "annotate": build_annotate,
    "synth": build_synth,
    "mix": build_mix,
}


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
    run_id = new_run_id()
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
    with OutputLock(out, run_id, command="pipelines.run"):  # one writer per output root, for the whole run
        swept = sweep_temp(out, keep=LOCK_TEMP)
        if swept:
            log.info("removed %d temporary files of an interrupted run", swept)
        for name in selected:
            log.info("running %s", name)

            def job(name: str = name) -> dict[str, int]:
                return run_job(name, BUILDERS[name], config, beam_argv, args.progress_s)

            def check(name: str = name) -> None:  # the stage's own counts add up before its marker is written
                log.info("%s", require_balance(name, config).line())

            outcomes[name] = run_stage(
                name, out, fps[name], job, retries=args.retries, force=name in forced, check=check
            )
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
    """The CLI: a bad config, a held output lock, a full disk, a stage that failed (with its one-line cause) or
    counts that do not balance end with one clear line, exit status 1."""
    try:
        return run_factory(argv).manifest
    except CLI_ERRORS as err:
        raise SystemExit(cli_error(err)) from err


if __name__ == "__main__":
    main(sys.argv[1:])
