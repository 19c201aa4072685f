"""Curate: sources → extract → normalise → language ID → quality filters → decontamination → exact + near dedup
→ curated Parquet.

python -m pipelines.curate [--config run.yaml] [--output out/] [--set k=v ...] [Beam flags: --runner=DataflowRunner]
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence

import apache_beam as beam

from pipelines import layout
from pipelines.code_steps import CodeCurationFn
from pipelines.curate_steps import LangIdFn, NormalizeFn, QualityFilterFn, keep_first_id
from pipelines.decontam import CONTAMINATED, Decontaminate, contaminated_rejection
from pipelines.dedup import DUPLICATES, INDEX, KEPT, REJECTED, Dedup
from pipelines.io import ReadSources, WriteRecords
from pipelines.local_batches import PART, PREVIOUS_IDS, EarlierIds, WriteIds
from pipelines.metrics import WriteCounts, score_bin, size_bin, tally
from pipelines.options import base_parser, parse, setup_logging
from schemas import DEDUP_INDEX, DOCUMENT, DUPLICATE, REJECTION

log = logging.getLogger(__name__)


def _split(pcoll, label: str, fn: beam.DoFn):
    result = pcoll | label >> beam.ParDo(fn).with_outputs("rejections", main="docs")
    return result.docs, result.rejections


def _code_counts(doc: dict):
    """Kept source files by programming language and licence (the report's code section)."""
    meta = doc.get("meta") or {}
    if meta.get("code_language"):
        yield ("code", "code_language", meta["code_language"]), 1
        yield ("code", "code_license", meta.get("license") or "none found"), 1


def _page_methods(doc: dict):
    """((extract, pages, method), 1) per extracted PDF page, and per OCR page the packs, script and how they were
    chosen (``ocr_langs``, ``ocr_script``, ``ocr_source``), counted before any filter drops the document."""
    meta = doc.get("meta") or {}
    methods = meta.get("page_methods")
    for method in methods.split(",") if methods else ():
        yield ("extract", "pages", method), 1
    for page in json.loads(meta["ocr_pages"]) if meta.get("ocr_pages") else ():
        yield ("extract", "ocr_langs", page.get("langs") or "?"), 1
        yield ("extract", "ocr_script", page.get("script") or "?"), 1
        yield ("extract", "ocr_source", page.get("source") or "?"), 1


def build_curate(pipeline: beam.Pipeline, config: dict) -> dict[str, beam.PCollection]:
    """Add the curate graph to ``pipeline``; returns the output PCollections (docs, rejections, duplicates)."""
    out = config["run"]["output"]
    part = config["run"].get(PART)  # a local batch (pipelines.local_batches): its outputs carry its name

    def named(prefix: str) -> str:
        return f"{prefix}-{part}" if part else prefix

    read = pipeline | "ReadSources" >> ReadSources(config["sources"], config["extract"])
    rejected = [read["rejections"]]
    normalized = read["docs"] | "Normalize" >> beam.ParDo(NormalizeFn(config["normalize"])).with_outputs(
        "rejections", main="docs"
    )
    rejected.append(normalized.rejections)
    prose, code = normalized.docs, None
    code_sources = frozenset(src["name"] for src in config["sources"] if src["type"] == "code")
    if code_sources:  # source files take the code branch (pipelines/code_steps.py), not LID and the prose filters
        split = normalized.docs | "SplitCode" >> beam.Partition(lambda d, _: int(d["source"] in code_sources), 2)
        prose, code = split[0], split[1]
        code, rej = _split(code, "Code", CodeCurationFn(config.get("code")))
        rejected.append(rej)
    batched = prose | "BatchForLid" >> beam.BatchElements(
        min_batch_size=16, max_batch_size=int(config["langid"].get("batch_size", 256))
    )
    docs, rej = _split(batched, "LangId", LangIdFn(config["langid"]))
    rejected.append(rej)
    docs, rej = _split(docs, "QualityFilters", QualityFilterFn(config["filters"]))
    rejected.append(rej)
    if code is not None:
        docs = (docs, code) | "WithCode" >> beam.Flatten()
    # Ids are made unique among the documents the filters keep: the text crosses this shuffle only for them (on
    # web-like input a small share), not for every record read.
    keyed = [docs | "KeyById" >> beam.Map(lambda d: (d["id"], d))]
    if config["run"].get(PREVIOUS_IDS):  # ids an earlier batch already took in
        keyed.append(docs | "EarlierIds" >> EarlierIds(config["run"][PREVIOUS_IDS]))
    by_id = (
        keyed
        | "FlattenIds" >> beam.Flatten()
        | "GroupById" >> beam.GroupByKey()
        | "UniqueIds" >> beam.FlatMap(keep_first_id).with_outputs("rejections", main="docs")
    )
    rejected.append(by_id.rejections)
    docs = by_id.docs
    if part:
        docs | "WriteIds" >> WriteIds(named(layout.dedup_ids_prefix(out)))
    if (config.get("decontam") or {}).get("curate", False):  # benchmark items in the corpus (curation/decontam.py)
        dec = docs | "Decontam" >> Decontaminate(config["decontam"], "curate")
        docs = dec["clean"]
        rejected.append(dec[CONTAMINATED] | "ContaminatedToRejections" >> beam.MapTuple(contaminated_rejection))

    dedup_cfg = config["dedup"]
    dedup = docs | "Dedup" >> Dedup.from_config(dedup_cfg, config["sources"])
    docs, dups = dedup[KEPT], dedup[DUPLICATES]
    rejected.append(dedup[REJECTED])
    if dedup_cfg.get("write_index", True):  # what a later incremental run dedups against
        dedup[INDEX] | "WriteDedupIndex" >> WriteRecords(named(layout.dedup_index_prefix(out)), DEDUP_INDEX)

    rejections = tuple(rejected) | "AllRejections" >> beam.Flatten()

    docs | "WriteDocuments" >> WriteRecords(named(layout.documents_prefix(out)), DOCUMENT)
    rejections | "WriteRejections" >> WriteRecords(named(layout.rejections_prefix(out)), REJECTION)
    dups | "WriteDuplicates" >> WriteRecords(named(layout.duplicates_prefix(out)), DUPLICATE)

    counts = (
        tally(read["docs"], "CountInputDocs", lambda d: ("read", "input", d["source"])),
        tally(read["rejections"], "CountInputRejected", lambda r: ("read", "input", r["source"])),
        tally(docs, "CountKept", lambda d: ("curate", "kept", "")),
        tally(rejections, "CountRejected", lambda r: (r["stage"], "rejected", r["reason"])),
        tally(dups, "CountDuplicates", lambda d: ("dedup", "duplicate", d["method"])),
        tally(docs, "CountLangs", lambda d: ("langid", "lang", d["lang"] or "und")),
        tally(docs, "CountLangScores", lambda d: ("langid", "lang_score", score_bin(d["lang_score"]))),
        tally(
            docs | "KeptOfClusters" >> beam.Filter(lambda d: (d.get("dedup_cluster_size") or 1) > 1),
            "CountClusterSizes",
            lambda d: ("dedup", "cluster_size", size_bin(d["dedup_cluster_size"])),
        ),
        tally(docs, "CountSources", lambda d: ("curate", "kept_source", d["source"])),
        docs | "CountCode" >> beam.FlatMap(_code_counts),
        docs | "CountChars" >> beam.Map(lambda d: (("curate", "chars", ""), d["n_chars"])),
        read["docs"] | "CountPdfPages" >> beam.FlatMap(_page_methods),
    )
    counts_path = layout.counts_path(out, f"curate-{part}" if part else "curate")  # batches' counts: summed after
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(counts_path)
    return {"docs": docs, "rejections": rejections, "duplicates": dups}


def run(argv: Sequence[str] | None = None) -> dict:
    """The CLI: under the output lock, as a stage with a marker; checks input = kept + rejected + duplicate."""
    from pipelines.stage_cli import add_stage_flags, cli_errors, run_standalone

    with cli_errors():
        setup_logging()
        args, config, beam_argv = parse(add_stage_flags(base_parser(__doc__)), argv)
        run_standalone("curate", build_curate, args, config, beam_argv)
    log.info("curate: wrote %s", layout.curated_dir(config["run"]["output"]))
    return config


if __name__ == "__main__":
    run(sys.argv[1:])
