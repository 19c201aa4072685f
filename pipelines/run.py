"""The whole factory on one config: curate → annotate → mix, then the RunManifest and the HTML report.

    python -m pipelines.run                      # the bundled sample, locally, on every core → out/
    python -m pipelines.run --config my.yaml --output gs://bucket/run1 --runner=DataflowRunner --project=... ...

Each pipeline is its own Beam job reading the previous one's Parquet, so any stage can be re-run alone
(python -m pipelines.curate / annotate / mix take the same flags).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence

import apache_beam as beam

from pipelines import layout
from pipelines.annotate import build_annotate
from pipelines.curate import build_curate
from pipelines.manifest import build_manifest, now, read_counts, standard_outputs, write_manifest
from pipelines.metrics import NAMESPACE
from pipelines.mix import build_mix
from pipelines.options import base_parser, beam_options, parse, setup_logging
from pipelines.report import write_report
from pipelines.synth import build_synth

log = logging.getLogger(__name__)
PIPELINES = ("curate", "annotate", "mix")
ALL_PIPELINES = ("curate", "annotate", "synth", "mix")


def run_pipeline(build: Callable[[beam.Pipeline, dict], object], config: dict, beam_argv: Sequence[str]) -> dict:
    """Run one Beam job to completion; return its factory counters."""
    pipeline = beam.Pipeline(options=beam_options(beam_argv))
    build(pipeline, config)
    result = pipeline.run()
    result.wait_until_finish()
    counters = {}
    for c in result.metrics().query()["counters"]:
        if c.key.metric.namespace == NAMESPACE:
            value = c.committed if c.committed is not None else c.attempted
            counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + int(value or 0)
    return counters


def main(argv: Sequence[str] | None = None) -> dict:
    setup_logging()
    parser = base_parser(__doc__)
    parser.add_argument(
        "--pipelines",
        default=None,
        help="comma list of pipelines to run, in order (default curate,annotate,mix; synth after annotate when "
        "synth.enabled)",
    )
    args, config, beam_argv = parse(parser, argv)
    if args.pipelines is None:
        wanted = [p for p in ALL_PIPELINES if p != "synth" or config["synth"].get("enabled", False)]
        args.pipelines = ",".join(wanted)
    out = config["run"]["output"]
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = now()
    builders = {"curate": build_curate, "annotate": build_annotate, "synth": build_synth, "mix": build_mix}
    timings, metrics = {}, {}
    for name in args.pipelines.split(","):
        log.info("running %s", name)
        t0 = time.perf_counter()
        metrics.update(run_pipeline(builders[name], config, beam_argv))
        timings[name] = time.perf_counter() - t0
        log.info("%s finished in %.1f s", name, timings[name])
    ran = args.pipelines.split(",")
    counts = read_counts(out, [*PIPELINES, *(["synth"] if "synth" in ran else [])])  # no stale synth counts
    manifest = build_manifest(
        config, "run", run_id, started, counts, standard_outputs(out, config["annotate"]["tasks"])
    )
    write_manifest(manifest, out)
    report = write_report(manifest, timings, metrics, out)
    t = manifest["totals"]
    print(
        f"run {run_id}: {t['input']} documents in → {t['kept']} kept, {t['rejected']} rejected, "
        f"{t['duplicate']} duplicate ({'balanced' if manifest['balanced'] else 'NOT BALANCED'}); "
        f"wall {sum(timings.values()):.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in timings.items())})\n"
        f"manifest: {layout.manifest_path(out)}\nreport:   {report}"
    )
    if not manifest["balanced"]:
        raise SystemExit("run manifest does not balance: some documents are unaccounted for")
    return manifest


if __name__ == "__main__":
    main(sys.argv[1:])
