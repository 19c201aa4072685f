"""Synth: curated seed documents → verified, decontaminated, deduplicated synthetic math / explanations / code.

python -m pipelines.synth [--config run.yaml] [--output out/] [--set synth.max_pairs=20] [Beam flags]

Reads ``<input>/curated/documents`` and, when present, ``<input>/annotations/{edu,domain}`` (``synth.input``,
default the run output). Seeds: edu score >= ``synth.seeds.min_edu_score`` and a domain group in
``synth.seeds.domains`` (missing labels: ``synth.seeds.on_missing``, counted as ``seed/selected/fallback_*``); at
most ``synth.max_pairs`` (seed, recipe) pairs (a fixed hash draw). Each seed feeds the recipes whose ``domains``
include its group.

Per generated sample (``synth.recipes.<name>.candidates`` per seed and recipe): parse → verify (math: majority of the
reference + ``verify_samples`` sampled answers; code: tests in the sandbox; explanation: completeness checks) →
decontaminate (``decontam``) → near-dedup (the MinHash stage of ``pipelines.dedup``). Outputs under
``<output>/synth/``: ``records-*.parquet`` (SynthRecord), ``rejections-*.parquet`` (Rejection: stage, reason,
detail), ``duplicates-*.parquet``, ``manifest.json``; counts in ``<output>/counts/synth.jsonl``. Every generated
sample ends kept, rejected or duplicate, and the manifest checks it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import TaggedOutput

from pipelines import layout
from pipelines.annotate import build_backend, teacher_model
from pipelines.decontam import CONTAMINATED, Decontaminate, hit_detail
from pipelines.dedup import DUPLICATES, KEPT, REJECTED, Dedup, DedupSettings
from pipelines.io import ReadRecords, WriteRecords
from pipelines.isolation import (
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    ErrorBudget,
    SystemicError,
    error_detail,
    error_reason,
    per_batch,
    per_record,
)
from pipelines.metrics import WriteCounts, counter, tally
from pipelines.options import base_parser, parse, setup_logging
from schemas import ANNOTATION, DOCUMENT, DUPLICATE, REJECTION, SYNTH_RECORD

log = logging.getLogger(__name__)
REJECT = "rejections"
VERIFY_OUTPUTS = ("math", "code", "explanation")


# --------------------------------------------------------------------------------------------------- settings


def synth_dir(out: str) -> str:
    return FileSystems.join(out.rstrip("/"), "synth")


def outputs(out: str) -> dict[str, str]:
    root = synth_dir(out)
    return {
        "records": FileSystems.join(root, "records-*.parquet"),
        "rejections": FileSystems.join(root, "rejections-*.parquet"),
        "duplicates": FileSystems.join(root, "duplicates-*.parquet"),
        "manifest": FileSystems.join(root, "manifest.json"),
    }


def recipe_configs(cfg: Mapping[str, Any]) -> dict[str, dict]:
    """The enabled recipes' settings."""
    from synth.recipe import KINDS

    recipes = {}
    for name, rc in (cfg.get("recipes") or {}).items():
        if name not in KINDS:
            raise ValueError(f"synth.recipes.{name}: unknown recipe; known: {KINDS}")
        rc = dict(rc or {})
        if rc.get("enabled", True):
            if int(rc.get("candidates", 1)) < 1:
                raise ValueError(f"synth.recipes.{name}.candidates: at least 1")
            recipes[name] = rc
    if not recipes:
        raise ValueError("synth.recipes: no recipe enabled")
    return recipes


def load_recipes(cfg: Mapping[str, Any]) -> dict:
    from synth.recipe import load_recipe

    return {
        name: load_recipe(name, rc.get("file")).with_overrides(rc.get("sampling"), rc.get("verify_sampling"))
        for name, rc in recipe_configs(cfg).items()
    }


def synth_rejection(cand: Mapping[str, Any], stage: str, reason: str, detail: str) -> dict:
    return {
        "id": cand["id"],
        "source": f"synth-{cand['recipe']}",
        "locator": cand["seed_id"],
        "stage": stage,
        "reason": reason,
        "detail": detail[:2000],
        "lang": None,
        "n_chars": len(cand.get("text") or ""),
    }


def _candidate_failed(stage: str):
    """Per-record isolation: a candidate whose step raised → its Rejection at ``stage`` (reason ``error:<Type>``)."""

    def on_error(_owner, cand: dict, err: BaseException):
        yield TaggedOutput(REJECT, synth_rejection(cand, stage, error_reason(err), error_detail(err)))

    return on_error


def _generation_failed(owner: GenerateFn, element: tuple[str, dict], err: BaseException):
    """Per-record isolation: a seed whose generation raised → one Rejection per candidate it was to give."""
    name, seed = element
    for j in range(owner.counts.get(name, 1)):
        cand = {"id": f"synth/{name}/{seed['id']}#{j}", "recipe": name, "seed_id": seed["id"], "text": ""}
        yield TaggedOutput(REJECT, synth_rejection(cand, "synth_generate", error_reason(err), error_detail(err)))


def _seed_failed(_owner, _element, err: BaseException):
    yield TaggedOutput("decisions", (("seed", "failed", error_reason(err)), 1))


# ------------------------------------------------------------------------------------------------------ seeds


class SelectSeeds(beam.DoFn):
    """(id, {doc, edu, domain}) → (recipe, seed) pairs; every document's decision is counted."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)

    def setup(self):
        from annotators.tasks.domain import domain_group
        from synth.seeds import SeedSettings

        self.settings = SeedSettings.from_mapping(self.cfg.get("seeds"))
        self.group_of = domain_group
        self.recipe_domains = {n: rc.get("domains") or [] for n, rc in recipe_configs(self.cfg).items()}

    @per_record("synth_seed", on_error=_seed_failed)
    def process(self, element):
        from synth.seeds import decide_seed, recipes_for

        _, grouped = element
        docs = list(grouped["doc"])
        if not docs:
            return  # labels of a document that is no longer curated
        doc = docs[0]
        edu = next((r for r in grouped["edu"] if r["status"] == "ok"), None)
        domain = next((r for r in grouped["domain"] if r["status"] == "ok"), None)
        decision = decide_seed(
            None if edu is None else edu["score"],
            None if domain is None else self.group_of(domain["label"]),
            self.settings,
        )
        yield TaggedOutput("decisions", (("seed", "selected" if decision.selected else "skipped", decision.reason), 1))
        if not decision.selected:
            return
        seed = {"id": doc["id"], "source": doc["source"], "text": doc["text"][: self.settings.max_chars]}
        for recipe in recipes_for(decision.group, self.recipe_domains):
            yield recipe, seed


# ------------------------------------------------------------------------------------------------- generation


class GenerateFn(beam.DoFn):
    """A batch of (recipe, seed) → ``candidates`` samples each (one request, n samples), or generation failures."""

    def __init__(self, cfg: Mapping[str, Any], run_seed: int):
        self.cfg = dict(cfg)
        self.run_seed = run_seed

    def setup(self):
        self.backend = build_backend(self.cfg)
        self.recipes = load_recipes(self.cfg)
        self.counts = {n: int(rc.get("candidates", 1)) for n, rc in recipe_configs(self.cfg).items()}
        self._failed_requests = ErrorBudget("synth_generate", DEFAULT_MAX_CONSECUTIVE_ERRORS)

    def teardown(self):
        self.backend.close()

    @per_batch("synth_generate", on_error=_generation_failed)
    def process(self, batch: list[tuple[str, dict]]):
        from dataclasses import replace

        from annotators.backends.base import BackendError
        from synth.recipe import derive_seed

        by_recipe: dict[str, list[dict]] = {}
        for recipe, seed in batch:
            by_recipe.setdefault(recipe, []).append(seed)
        for name, seeds in by_recipe.items():
            recipe = self.recipes[name]
            params = replace(recipe.sampling, n=self.counts[name])
            rng = [derive_seed(self.run_seed, recipe.version, s["id"]) for s in seeds]
            requests = [recipe.request(s["text"], r) for s, r in zip(seeds, rng, strict=True)]
            results = self.backend.generate(requests, params, recipe.json_schema)
            for seed, rng_seed, result in zip(seeds, rng, results, strict=True):
                if isinstance(result, BackendError):  # every request failing in a row is a dead server: systemic
                    self._failed_requests.failed(seed["id"], result)
                else:
                    self._failed_requests.ok()
                for j in range(params.n):
                    cand = {
                        "id": f"synth/{name}/{seed['id']}#{j}",
                        "recipe": name,
                        "seed_id": seed["id"],
                        "seed_source": seed["source"],
                        "rng_seed": rng_seed,
                        "sample_index": j,
                        "text": "",
                        "finish_reason": "",
                    }
                    counter("synth", f"generated_{name}").inc()
                    if isinstance(result, BackendError):
                        yield TaggedOutput(
                            REJECT, synth_rejection(cand, "synth_generate", "generation_failed", str(result))
                        )
                        continue
                    sample = result[j]
                    yield {**cand, "text": sample.text, "finish_reason": sample.finish_reason}


class ParseFn(beam.DoFn):
    """Candidate → parsed, on the output of its recipe kind; unparsable ones are rejected with the parser's reason."""

    @per_record("synth_parse", on_error=_candidate_failed("synth_parse"))
    def process(self, cand: dict):
        from synth.parse import ParseError, parse_code, parse_math

        try:
            if cand["recipe"] == "math":
                item = parse_math(cand["text"])
                yield TaggedOutput("math", {**cand, "problem": item.problem, "solution": item.solution})
            elif cand["recipe"] == "code":
                item = parse_code(cand["text"])
                yield TaggedOutput("code", {**cand, "task": item.task, "function": item.function, "tests": item.tests})
            else:
                yield TaggedOutput("explanation", cand)
        except ParseError as err:
            yield TaggedOutput(REJECT, synth_rejection(cand, "synth_parse", err.reason, err.detail))


def _record(cand: Mapping[str, Any], recipe, model: str, backend: str, verification: str, **fields) -> dict:
    from curation.text.normalize import content_hash

    text = fields.pop("text")
    sampling = {**recipe.sampling.as_map(), **fields.pop("sampling", {})}
    meta = {"sample_index": str(cand["sample_index"]), "finish_reason": cand["finish_reason"], **fields.pop("meta", {})}
    return {
        "id": cand["id"],
        "kind": recipe.kind,
        "text": text,
        "problem": fields.get("problem"),
        "solution": fields.get("solution"),
        "answer": fields.get("answer"),
        "tests": fields.get("tests"),
        "seed_id": cand["seed_id"],
        "seed_source": cand["seed_source"],
        "recipe": cand["recipe"],
        "prompt_version": recipe.version,
        "model": model,
        "backend": backend,
        "sampling": sampling,
        "rng_seed": int(cand["rng_seed"]),
        "verification": verification,
        "agreement": fields.get("agreement"),
        "n_votes": fields.get("n_votes"),
        "content_hash": content_hash(text),
        "n_chars": len(text),
        "meta": meta,
    }


class SolveFn(beam.DoFn):
    """A batch of math candidates → ``verify_samples`` independent solutions each → majority vote → record or not."""

    def __init__(self, cfg: Mapping[str, Any], run_seed: int):
        self.cfg = dict(cfg)
        self.run_seed = run_seed

    def setup(self):
        from synth.verify import MathSettings

        self.backend = build_backend(self.cfg)
        self.recipe = load_recipes(self.cfg)["math"]
        self.k = int(recipe_configs(self.cfg)["math"].get("verify_samples", 4))
        self.settings = MathSettings(**(self.cfg.get("math") or {}))

    def teardown(self):
        self.backend.close()

    @per_batch("synth_verify", on_error=_candidate_failed("synth_verify"))
    def process(self, batch: list[dict]):
        from dataclasses import replace

        from annotators.backends.base import BackendError
        from synth.recipe import derive_seed
        from synth.verify import verify_math

        params = replace(self.recipe.verify_sampling, n=self.k)
        requests = [
            self.recipe.verify_request(c["problem"], derive_seed(self.run_seed, "verify", c["id"])) for c in batch
        ]
        results = self.backend.generate(requests, params) if self.k else [[] for _ in batch]
        for cand, result in zip(batch, results, strict=True):
            if isinstance(result, BackendError):
                yield TaggedOutput(REJECT, synth_rejection(cand, "synth_verify", "generation_failed", str(result)))
                continue
            cut = [cand["finish_reason"] == "length"] + [s.finish_reason == "length" for s in result]
            verdict = verify_math(cand["solution"], [s.text for s in result], self.settings, truncated=cut)
            counter("synth", f"math_{verdict.reason or 'kept'}").inc()
            if not verdict.kept:
                yield TaggedOutput(REJECT, synth_rejection(cand, "synth_verify", verdict.reason, verdict.detail))
                continue
            f = verdict.fields
            yield _record(
                cand,
                self.recipe,
                self.backend.model,
                self.backend.name,
                "majority_vote",
                text=f"Problem: {cand['problem']}\n\nSolution: {f['solution']}",
                problem=cand["problem"],
                solution=f["solution"],
                answer=f["answer"],
                agreement=f["agreement"],
                n_votes=f["n_votes"],
                sampling={f"verify_{k}": v for k, v in params.as_map().items()},
                meta=f["meta"],
            )


class SandboxFn(beam.DoFn):
    """A code candidate → its tests run in the sandbox → record or rejection (timeout, memory, test_failed ...)."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)

    def setup(self):
        from synth.sandbox import SandboxLimits, SandboxUnavailable, bwrap

        self.limits = SandboxLimits.from_mapping(self.cfg.get("sandbox"))
        self.recipe = load_recipes(self.cfg)["code"]
        if self.limits.isolation == "bwrap":
            try:  # before any sample: a host without the isolation stops the job with what is missing
                bwrap.probe(self.limits.python)
            except SandboxUnavailable as err:
                raise SystemicError(f"synth sandbox: {err}") from err

    @per_record("synth_verify", on_error=_candidate_failed("synth_verify"))
    def process(self, cand: dict):
        from synth.verify import verify_code

        verdict = verify_code(cand["function"], cand["tests"], self.limits)
        counter("synth", f"code_{verdict.reason or 'kept'}").inc()
        if not verdict.kept:
            yield TaggedOutput(REJECT, synth_rejection(cand, "synth_verify", verdict.reason, verdict.detail))
            return
        task = f"{cand['task']}\n\n" if cand["task"] else ""
        yield _record(
            cand,
            self.recipe,
            str(self.cfg.get("model", "smollm2-135m-instruct")),
            str(self.cfg.get("backend", "transformers")),
            "sandbox_tests",
            text=f"{task}```python\n{cand['function']}\n```\n\n```python\n{cand['tests']}\n```",
            problem=cand["task"] or None,
            solution=cand["function"],
            tests=cand["tests"],
            meta=verdict.fields.get("meta", {}),
        )


class CheckExplanationFn(beam.DoFn):
    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)

    def setup(self):
        from synth.verify import ExplanationSettings

        self.settings = ExplanationSettings(**(self.cfg.get("explanation") or {}))
        self.recipe = load_recipes(self.cfg)["explanation"]

    @per_record("synth_verify", on_error=_candidate_failed("synth_verify"))
    def process(self, cand: dict):
        from synth.verify import verify_explanation

        verdict = verify_explanation(cand["text"], cand["finish_reason"], self.settings)
        if not verdict.kept:
            yield TaggedOutput(REJECT, synth_rejection(cand, "synth_verify", verdict.reason, verdict.detail))
            return
        yield _record(
            cand,
            self.recipe,
            str(self.cfg.get("model", "smollm2-135m-instruct")),
            str(self.cfg.get("backend", "transformers")),
            "checks",
            text=cand["text"].strip(),
        )


# ------------------------------------------------------------------------------------------------------ dedup


def as_document(record: dict) -> dict:
    """A SynthRecord in the Document shape the dedup stage reads (the record rides along)."""
    return {
        "id": record["id"],
        "text": record["text"],
        "source": f"synth-{record['recipe']}",
        "locator": record["seed_id"],
        "lang": None,
        "script": None,
        "content_hash": record["content_hash"],
        "n_chars": record["n_chars"],
        "quality": None,
        "meta": None,
        "dedup_cluster": None,
        "dedup_cluster_size": None,
        "_record": record,
    }


# --------------------------------------------------------------------------------------------------- pipeline


def _draw(pair: tuple[str, dict], run_seed: int) -> int:
    from synth.recipe import derive_seed

    return derive_seed(run_seed, "seed-draw", pair[0], pair[1]["id"])


def build_synth(pipeline: beam.Pipeline, config: dict) -> dict[str, beam.PCollection]:
    out = config["run"]["output"]
    cfg = dict(config["synth"])
    cfg.setdefault("model", config["annotate"].get("model", "smollm2-135m-instruct"))
    source_root = cfg.get("input") or out
    run_seed = int(cfg.get("seed", config["run"].get("seed", 0)))
    load_recipes(cfg)  # a bad recipe fails here, before any worker starts
    log.info("synth: recipes %s, backend %s/%s", sorted(recipe_configs(cfg)), cfg.get("backend"), teacher_model(cfg))

    docs = pipeline | "ReadDocuments" >> ReadRecords(layout.pattern(layout.documents_prefix(source_root)), DOCUMENT)
    keyed = {"doc": docs | "KeyDocs" >> beam.Map(lambda d: (d["id"], d))}
    for task in ("edu", "domain"):
        pattern = layout.pattern(layout.annotations_prefix(source_root, task))
        rows = (
            pipeline | f"Read_{task}" >> ReadRecords(pattern, ANNOTATION)
            if layout.has_files(pattern)
            else pipeline | f"No_{task}" >> beam.Create([])
        )
        keyed[task] = rows | f"Key_{task}" >> beam.Map(lambda r: (r["id"], r))
    selected = (
        keyed
        | "JoinLabels" >> beam.CoGroupByKey()
        | "SelectSeeds" >> beam.ParDo(SelectSeeds(cfg)).with_outputs("decisions", main="pairs")
    )
    pairs = selected.pairs
    max_pairs = cfg.get("max_pairs")
    if max_pairs:
        pairs = (
            pairs
            | "TopSeeds" >> beam.combiners.Top.Of(int(max_pairs), key=lambda p, s=run_seed: _draw(p, s))
            | "UnTop" >> beam.FlatMap(lambda ps: ps)
        )
    batch = int(cfg.get("batch_size", 4))
    generated = (
        pairs
        | "BatchSeeds" >> beam.BatchElements(min_batch_size=1, max_batch_size=batch)
        | "Generate" >> beam.ParDo(GenerateFn(cfg, run_seed)).with_outputs(REJECT, main="candidates")
    )
    parsed = generated.candidates | "Parse" >> beam.ParDo(ParseFn()).with_outputs(REJECT, *VERIFY_OUTPUTS)
    rejected = [generated[REJECT], parsed[REJECT]]
    verified = []
    if "math" in recipe_configs(cfg):
        math = (
            parsed["math"]
            | "BatchMath" >> beam.BatchElements(min_batch_size=1, max_batch_size=batch)
            | "SolveAndVote" >> beam.ParDo(SolveFn(cfg, run_seed)).with_outputs(REJECT, main="records")
        )
        verified.append(math.records)
        rejected.append(math[REJECT])
    if "code" in recipe_configs(cfg):
        code = parsed["code"] | "RunTests" >> beam.ParDo(SandboxFn(cfg)).with_outputs(REJECT, main="records")
        verified.append(code.records)
        rejected.append(code[REJECT])
    if "explanation" in recipe_configs(cfg):
        expl = parsed["explanation"] | "CheckExplanations" >> beam.ParDo(CheckExplanationFn(cfg)).with_outputs(
            REJECT, main="records"
        )
        verified.append(expl.records)
        rejected.append(expl[REJECT])
    records = verified | "AllVerified" >> beam.Flatten()

    if cfg.get("decontam", True):
        dec = records | "Decontam" >> Decontaminate(config["decontam"], "synth")
        records = dec["clean"]
        rejected.append(
            dec[CONTAMINATED]
            | "ContaminatedToRejections"
            >> beam.MapTuple(lambda r, hit: synth_rejection(r, "decontam", hit.reason, hit_detail(hit)))
        )
    duplicates = None
    if cfg.get("dedup", True):
        settings = DedupSettings.from_config({**config["dedup"], "write_index": False, "previous": []})
        deduped = records | "AsDocuments" >> beam.Map(as_document) | "Dedup" >> Dedup(settings)
        records = deduped[KEPT] | "BackToRecords" >> beam.Map(lambda d: d["_record"])
        duplicates = deduped[DUPLICATES]
        rejected.append(deduped[REJECTED])
    else:
        duplicates = records | "NoDuplicates" >> beam.FlatMap(lambda _: [])
    rejections = tuple(rejected) | "AllRejections" >> beam.Flatten()

    root = synth_dir(out)
    records | "WriteRecords" >> WriteRecords(FileSystems.join(root, "records"), SYNTH_RECORD)
    rejections | "WriteRejections" >> WriteRecords(FileSystems.join(root, "rejections"), REJECTION)
    duplicates | "WriteDuplicates" >> WriteRecords(FileSystems.join(root, "duplicates"), DUPLICATE)

    def recipe_of(row: dict) -> str:
        return row["source"].removeprefix("synth-")

    counts = (
        tally(generated.candidates, "CountGenerated", lambda c: ("synth", "input", c["recipe"])),
        tally(generated[REJECT], "CountGenerationFailed", lambda r: ("synth", "input", recipe_of(r))),
        tally(records, "CountKept", lambda r: ("synth", "kept", r["recipe"])),
        tally(rejections, "CountRejected", lambda r: (r["stage"], "rejected", r["reason"])),
        tally(rejections, "CountRejectedByRecipe", lambda r: ("synth", "rejected_by_recipe", recipe_of(r))),
        tally(duplicates, "CountDuplicates", lambda d: ("synth_dedup", "duplicate", d["method"])),
        selected.decisions,
    )
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(layout.counts_path(out, "synth"))
    return {"records": records, "rejections": rejections, "duplicates": duplicates}


def write_synth_manifest(config: dict, run_id: str, started: str) -> dict:
    """``<output>/synth/manifest.json`` from the written counts; ``balanced``: generated = kept + rejected + dup."""
    import json

    from pipelines.atomic import write_atomic
    from pipelines.manifest import build_manifest, read_counts

    out = config["run"]["output"]
    counts = read_counts(out, ["synth"])
    manifest = build_manifest(config, "synth", run_id, started, counts, outputs(out))
    write_atomic(outputs(out)["manifest"], json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
    return manifest


def run(argv: Sequence[str] | None = None) -> dict:
    """The CLI: under the output lock, as a stage with a marker; writes ``synth/manifest.json`` and checks that
    every generated sample is kept, rejected or a duplicate before the marker."""
    from pipelines.manifest import now
    from pipelines.stage_cli import add_stage_flags, cli_errors, run_standalone

    manifests: list[dict] = []
    with cli_errors():
        setup_logging()
        args, config, beam_argv = parse(add_stage_flags(base_parser(__doc__)), argv)
        started = now()

        def finish(run_id: str) -> None:
            manifests.append(write_synth_manifest(config, run_id, started))

        run_standalone("synth", build_synth, args, config, beam_argv, finish=finish)
    path = outputs(config["run"]["output"])["manifest"]
    if not manifests and FileSystems.exists(path):  # complete from an earlier run: its manifest
        import json

        with FileSystems.open(path) as f:
            manifests.append(json.loads(f.read().decode("utf-8")))
    print(f"manifest: {path}")
    return manifests[-1] if manifests else {}


if __name__ == "__main__":
    run(sys.argv[1:])
