"""Mix: curated documents + annotations → shuffled, size-bounded stage shards (S1 general, S2 knowledge, S3 long)
with a manifest per stage; ``--ablation`` runs the RegMix-style mixture ablation instead.

python -m pipelines.mix [--config run.yaml] [--output out/] [--no-annotations] [Beam flags]
python -m pipelines.mix --ablation [--device cpu|cuda] [--config run.yaml] [--output out/]

Verified synthetic records (<output>/synth/records-*.parquet, pipelines.synth) join the stages listed in mix.synth
(source synth/<recipe>; pipelines/mix_synth.py) when they exist.

Outputs: <output>/shards/<stage>/part-SSSSS-PPP.parquet, <output>/shards/<stage>/manifest.json,
<output>/counts/mix.jsonl; with --ablation: <output>/ablation/ (candidate shards, held-out sets, results.json,
report.html).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from curation.mixture import Recipe, doc_domain, is_heldout, recipes_from_config, unit_hash
from pipelines import layout
from pipelines.atomic import write_atomic
from pipelines.io import ReadRecords, WriteRecords
from pipelines.metrics import WriteCounts, tally
from pipelines.mix_synth import CapSynthetic, SynthMix, synth_document, with_synth_weights
from pipelines.mixing import BuildStageShards, CountTokens, ShardSpec, StageProfiles, manifest_counts, profiles_to_json
from pipelines.options import base_parser, parse, setup_logging
from schemas import ANNOTATION, DOCUMENT, REJECTION, SYNTH_RECORD

log = logging.getLogger(__name__)
TASKS = ("edu", "domain", "safety")
LOCAL = "_local"  # mix key set on the config of a slice job (pipelines.mix_slices)


def attach_annotations(kv: tuple[str, dict], synth: SynthMix | None = None):
    """CoGroupByKey result → each document once with ``edu_score`` (None if unscored or failed), ``domain`` (the
    mixture group ``stem`` / ``code`` / ``other`` of its topic, or the group curate gave it: code files are ``code``)
    and ``safety_score`` (P(unsafe)) where annotated; synthetic records grouped under their seed's id become
    documents with the seed's language, score and group."""
    from annotators.tasks.domain import domain_group

    _, grouped = kv
    ok = {task: [a for a in grouped.get(task, ()) if a["status"] == "ok"] for task in TASKS}
    scores = [a["score"] for a in ok["edu"] if a["score"] is not None]
    topics = [a["label"] for a in ok["domain"] if a["label"] is not None]
    unsafe = [a["score"] for a in ok["safety"] if a["score"] is not None]
    seed = None
    for doc in grouped["docs"]:
        out = {**doc, "edu_score": scores[0] if scores else None, "safety_score": unsafe[0] if unsafe else None}
        known = doc_domain(doc)  # set by curate where the source says it (code files: "code"), no LLM needed
        if known or topics:
            out["domain"] = known or domain_group(topics[0])
        seed = seed or out
        yield out
    for record in grouped.get("synth", ()):
        group = domain_group(topics[0]) if topics else (doc_domain(seed) if seed else None)
        lang = seed.get("lang") if seed else None
        yield synth_document(record, synth, lang, scores[0] if scores else None, group)


def in_slice(key: str, part: tuple[int, int] | None) -> bool:
    """Whether a document (by id; a synthetic record by its seed's id) belongs to slice ``(k, n)`` of a local mix."""
    return part is None or min(int(unit_hash("mix-slice", key) * part[1]), part[1] - 1) == part[0]


def slim_record(row: dict) -> dict:
    """A document or synthetic record without its text: its UTF-8 size in ``text_bytes`` (profiles need no more)."""
    text = row.get("text") or ""
    return {**{k: v for k, v in row.items() if k != "text"}, "text": "", "text_bytes": len(text.encode("utf-8"))}


def read_annotated(
    pipeline: beam.Pipeline,
    out: str,
    use_annotations: bool = True,
    synth: SynthMix | None = None,
    part: tuple[int, int] | None = None,
    slim: bool = False,
) -> beam.PCollection:
    """Kept documents of a run joined with whichever of its edu / domain / safety annotation tables exist; with
    ``synth`` (its records exist) the verified synthetic records too, keyed by their seed's id. With ``part``
    ``(k, n)`` only slice k of n (by a hash of the id: a uniform sample, joined with its own labels). ``slim``: token
    counts filled in as the text is read, then the text dropped (``text_bytes`` kept): what a mix plan needs."""

    def read(label: str, pattern: str, schema, key: str, texts: bool = False) -> beam.PCollection:
        rows = pipeline | f"Read{label}" >> ReadRecords(pattern, schema)
        if part is not None:
            rows = rows | f"Slice{label}" >> beam.Filter(lambda r: in_slice(r[key], part))
        if texts and slim:  # tokens counted where the text is read; only the counts cross the join
            rows = (rows | f"Tokens{label}" >> CountTokens()).docs | f"Slim{label}" >> beam.Map(slim_record)
        return rows

    docs = read("Documents", layout.pattern(layout.documents_prefix(out)), DOCUMENT, "id", texts=True)
    tables = {}
    if use_annotations:
        for task in TASKS:
            pattern = layout.pattern(layout.annotations_prefix(out, task))
            if layout.has_files(pattern):
                rows = read(f"_{task}", pattern, ANNOTATION, "id")
                tables[task] = rows | f"Key_{task}" >> beam.Map(lambda a: (a["id"], a))
    if synth is not None:
        records = read("Synth", synth.records_pattern(out), SYNTH_RECORD, "seed_id", texts=True)
        tables["synth"] = records | "KeySynth" >> beam.Map(lambda r: (r["seed_id"], r))
    if not tables:
        return docs | "NoAnnotations" >> beam.Map(lambda d: {**d, "edu_score": None, "safety_score": None})
    joined = {"docs": docs | "KeyDocs" >> beam.Map(lambda d: (d["id"], d)), **tables}
    return joined | "JoinAnnotations" >> beam.CoGroupByKey() | "Attach" >> beam.FlatMap(attach_annotations, synth)


def synth_settings(config: dict) -> SynthMix | None:
    """``mix.synth`` when it is on and synthetic records exist; None otherwise (the mix is then unchanged)."""
    mix = config["mix"]
    settings = SynthMix.from_config(mix.get("synth"), seed=int(mix.get("seed", 0)))
    if not settings.include or not layout.has_files(settings.records_pattern(config["run"]["output"])):
        return None
    return settings


def mix_recipes(config: dict) -> tuple[Recipe, ...]:
    mix = config["mix"]
    return recipes_from_config(mix["stages"], seed=int(mix.get("seed", 0)))


def heldout_share(config: dict) -> tuple[float, int]:
    ablation = config["mix"].get("ablation") or {}
    return float(ablation.get("heldout_share", 0.0)), int(ablation.get("seed", config["mix"].get("seed", 0)))


def mix_rejections_prefix(out: str, part: str = "") -> str:
    """Documents the mix could not place because handling them raised (``shards/_rejections/``: under the mix
    stage's outputs, and never a stage name, which must start with a letter or digit)."""
    return FileSystems.join(layout.shards_dir(out), "_rejections", f"rejections-{part}" if part else "rejections")


def build_mix(pipeline: beam.Pipeline, config: dict, use_annotations: bool = True) -> beam.PCollection:
    """The stage shards of a run; with ``mix.exclude_heldout`` the ablation's held-out documents stay out of them.

    A slice job of a local run (``mix._local``, set by ``pipelines.mix_slices``) reads its slice only and either
    sums its profiles (pass ``profile``) or writes its shard files and statistics with the corpus plans it is given
    (pass ``rows``)."""
    out = config["run"]["output"]
    local = config["mix"].get(LOCAL)
    part = tuple(local["slice"]) if local and local.get("slice") else None
    profiling = bool(local) and local["pass"] == "profile"
    synth = synth_settings(config)
    docs = read_annotated(pipeline, out, use_annotations, synth, part, slim=profiling)
    recipes = mix_recipes(config)
    counts = []
    if synth is not None:
        docs, synth_counts = docs | "CapSynthetic" >> CapSynthetic(synth, local["synth_chars"] if local else None)
        counts.append(synth_counts)
        recipes = with_synth_weights(recipes, synth)
        log.info("mix: synthetic records from %s in stages %s", synth.records_pattern(out), list(synth.stages))
    if config["mix"].get("exclude_heldout"):
        share, seed = heldout_share(config)
        docs = docs | "DropHeldOut" >> beam.Filter(lambda d: not is_heldout(d["id"], share, seed))
    spec = ShardSpec.from_config(config["mix"].get("shards"))
    if profiling:  # read_annotated counted the tokens where it read the text
        profiles = docs | "Profiles" >> StageProfiles(recipes)
        return profiles | "WriteProfiles" >> beam.Map(
            lambda p: write_atomic(local["profiles_path"], profiles_to_json(p))
        )
    name = local["name"] if local else ""
    shards = BuildStageShards(
        recipes,
        layout.shards_dir(out),
        spec,
        plans=local["plans"] if local else None,
        part=name,
        slices=part[1] if part else 1,
    )
    manifests = docs | "BuildStageShards" >> shards
    # every document the mix reads ends placed, unplaced or failed: pipelines.balance checks that they add up
    counts.append(tally(docs, "CountMixDocuments", lambda d: ("mix", "documents", "read")))
    counts.append(tally(shards.placements, "CountPlacements", lambda p: ("mix", "documents", p)))
    shards.rejected | "WriteMixRejections" >> WriteRecords(mix_rejections_prefix(out, name), REJECTION)
    # "failed", not "rejected": these documents were counted kept by curate; the run's balance must not count twice
    counts.append(tally(shards.rejected, "CountMixFailed", lambda r: ("mix", "failed", r["reason"])))
    if local:  # the slice's file statistics; its manifest counts come when the manifests are written
        manifests | "WriteStats" >> beam.Map(lambda st: write_atomic(local["stats_path"], json.dumps(st).encode()))
    else:
        counts.append(manifests | "ManifestCounts" >> beam.FlatMap(manifest_counts))
    (
        counts
        | "AllCounts" >> beam.Flatten()
        | "WriteCounts" >> WriteCounts(layout.counts_path(out, f"mix-{name}" if name else "mix"))
    )
    return manifests


def run(argv: Sequence[str] | None = None) -> dict:
    """The CLI: under the output lock; the mix as a stage with a marker, its shards checked against its manifests
    and counts (``pipelines.balance``); ``--ablation`` under the lock too."""
    from pipelines.atomic import sweep_temp
    from pipelines.lock import OutputLock
    from pipelines.stage_cli import LOCK_TEMP, add_stage_flags, cli_errors, new_run_id, run_standalone

    with cli_errors():
        setup_logging()
        parser = add_stage_flags(base_parser(__doc__))
        parser.add_argument("--no-annotations", action="store_true", help="mix without education/domain/safety labels")
        parser.add_argument("--ablation", action="store_true", help="run the mixture ablation (mix.ablation in config)")
        parser.add_argument("--device", default=None, help="--ablation: torch device of the proxy models (cpu, cuda)")
        args, config, beam_argv = parse(parser, argv)
        use_annotations = not args.no_annotations
        if args.ablation:
            from pipelines.ablation import run_ablation

            with OutputLock(config["run"]["output"], new_run_id(), command="pipelines.mix --ablation"):
                sweep_temp(config["run"]["output"], keep=LOCK_TEMP)
                result = run_ablation(config, beam_argv, device=args.device, use_annotations=use_annotations)
            print(f"ablation: predicted best {result['predicted_best']['weights']} → {result['report']}")
            return config

        def build(pipeline: beam.Pipeline, config: dict) -> beam.PCollection:
            return build_mix(pipeline, config, use_annotations=use_annotations)

        run_standalone("mix", build, args, config, beam_argv, variant="" if use_annotations else "no-annotations")
    log.info("mix: wrote %s", layout.shards_dir(config["run"]["output"]))
    return config


if __name__ == "__main__":
    run(sys.argv[1:])
