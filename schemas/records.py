"""Arrow schemas of every record the factory reads or writes.

Documents and their attributes are kept apart (as in Dolma): annotations live in their own table keyed by
document id + content hash, so labels can be recomputed without rewriting text.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.version import SCHEMA_VERSION


def _schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={"schema_name": name, "schema_version": SCHEMA_VERSION})


def _req(name: str, typ: pa.DataType) -> pa.Field:
    return pa.field(name, typ, nullable=False)


def _opt(name: str, typ: pa.DataType) -> pa.Field:
    return pa.field(name, typ, nullable=True)


STR_MAP = pa.map_(pa.string(), pa.string())
FLOAT_MAP = pa.map_(pa.string(), pa.float64())

DOCUMENT = _schema(
    "Document",
    [
        _req("id", pa.string()),  # stable: derived from source + locator
        _req("text", pa.large_string()),
        _req("source", pa.string()),  # logical source name, e.g. "sample-pdf"
        _req("locator", pa.string()),  # path#page-range, path#line or URL
        _opt("lang", pa.string()),  # ISO 639-3 + script, e.g. "zho_Hans"
        _opt("lang_score", pa.float64()),
        _opt("script", pa.string()),  # ISO 15924 of the dominant script
        _req("content_hash", pa.string()),  # hash of the normalised text (exact dedup key)
        _req("n_chars", pa.int64()),
        _opt("n_tokens", pa.int64()),  # Qwen tokenizer
        _opt("meta", STR_MAP),
        _opt("quality", FLOAT_MAP),  # filter statistics
        _opt("dedup_cluster", pa.string()),
        _opt("dedup_cluster_size", pa.int64()),
    ],
)

REJECTION = _schema(
    "Rejection",
    [
        _req("id", pa.string()),
        _req("source", pa.string()),
        _req("locator", pa.string()),
        _req("stage", pa.string()),  # read | extract | normalize | langid | filter | ...
        _req("reason", pa.string()),  # short machine-readable reason, e.g. "pdf_encrypted"
        _opt("detail", pa.string()),  # human-readable detail
        _opt("lang", pa.string()),
        _opt("n_chars", pa.int64()),
    ],
)

DUPLICATE = _schema(
    "Duplicate",
    [
        _req("id", pa.string()),
        _req("source", pa.string()),
        _req("locator", pa.string()),
        _req("duplicate_of", pa.string()),  # id of the kept document
        _req("method", pa.string()),  # exact | minhash
        _req("cluster_id", pa.string()),
        _req("cluster_size", pa.int64()),
        _opt("n_chars", pa.int64()),
    ],
)

DEDUP_INDEX = _schema(
    "DedupIndex",
    [  # one row per kept document: what a later run needs to dedup against it without re-reading its text
        _req("id", pa.string()),
        _req("source", pa.string()),
        _req("content_hash", pa.string()),  # exact dedup key
        _req("cluster_size", pa.int64()),  # documents it stood for when it was kept
        _opt("signature", pa.binary()),  # MinHash signature, LE uint32 (affine32) or uint64 (legacy); null: exact only
        _opt("shingles", pa.binary()),  # sorted distinct 64-bit shingle hashes (little-endian), for verification
        _req("params", pa.string()),  # scheme, permutations, seed and shingling the signature depends on
    ],
)

ANNOTATION = _schema(
    "Annotation",
    [
        _req("id", pa.string()),  # document id
        _req("content_hash", pa.string()),
        _req("task", pa.string()),  # edu | domain | safety
        _req("status", pa.string()),  # ok | failed
        _opt("label", pa.string()),  # argmax label
        _opt("score", pa.float64()),  # edu: expected points 0-5; safety: P(unsafe); domain: top probability
        _opt("distribution", FLOAT_MAP),  # normalised probability per label
        _req("model", pa.string()),
        _req("prompt_version", pa.string()),
        _req("backend", pa.string()),  # transformers | openai-http | fasttext (a student)
        _opt("error", pa.string()),
    ],
)

SHARD_ROW = _schema(
    "ShardRow",
    [
        _req("id", pa.string()),  # instance id: doc id + chunk + copy
        _req("doc_id", pa.string()),
        _req("stage", pa.string()),  # S1 | S2 | S3
        _req("text", pa.large_string()),
        _req("n_tokens", pa.int64()),
        _req("chunk_index", pa.int64()),
        _req("copy_index", pa.int64()),  # >0 when a document is upsampled
        _opt("lang", pa.string()),
        _req("source", pa.string()),
        _opt("edu_score", pa.float64()),
        _opt("length_bucket", pa.string()),  # S3: 4k-16k | 16k-32k; other stages: <512 | 512-2k | ... | >32k
        _opt("recipe_id", pa.string()),  # stage name + hash of the recipe that drew it
        _opt("domain", pa.string()),  # mixture group: stem | code | other
        _opt("safety_score", pa.float64()),  # P(unsafe)
        _opt("dedup_cluster_size", pa.int64()),
        _opt("weight", pa.float64()),  # expected copies r(d) of the document in this stage
        _opt("token_ids", pa.list_(pa.int32())),  # pre-tokenised output (mix.shards.pretokenize), Qwen ids
        _opt("provenance", STR_MAP),  # synthetic rows: recipe, prompt_version, seed_id, model, ...; null for curated
    ],
)

SYNTH_RECORD = _schema(
    "SynthRecord",
    [  # one verified synthetic training example; provenance enough to regenerate it
        _req("id", pa.string()),  # synth/<recipe>/<seed id>/<candidate index>
        _req("kind", pa.string()),  # math | explanation | code
        _req("text", pa.large_string()),  # the training text (problem + solution, explanation, function + tests)
        _opt("problem", pa.large_string()),
        _opt("solution", pa.large_string()),  # the kept (majority-agreeing / passing) solution
        _opt("answer", pa.string()),  # math: the agreed final answer
        _opt("tests", pa.large_string()),  # code: the generated tests the solution passed
        _req("seed_id", pa.string()),  # the curated document the recipe started from
        _req("seed_source", pa.string()),
        _req("recipe", pa.string()),  # math | explanation | code
        _req("prompt_version", pa.string()),  # e.g. synth-math-v1
        _req("model", pa.string()),
        _req("backend", pa.string()),  # transformers | openai-http
        _req("sampling", STR_MAP),  # temperature, top_p, max_tokens, n, verify_samples ...
        _req("rng_seed", pa.int64()),  # the generation seed of this candidate
        _req("verification", pa.string()),  # majority_vote | sandbox_tests | checks
        _opt("agreement", pa.float64()),  # math: share of answers equivalent to the kept one
        _opt("n_votes", pa.int64()),  # math: answers compared
        _req("content_hash", pa.string()),
        _req("n_chars", pa.int64()),
        _opt("meta", STR_MAP),
    ],
)

COUNT = pa.struct(
    [
        pa.field("stage", pa.string()),
        pa.field("outcome", pa.string()),  # kept | rejected | duplicate | input | annotated | instances
        pa.field("reason", pa.string()),
        pa.field("count", pa.int64()),
    ]
)

RUN_MANIFEST = _schema(
    "RunManifest",
    [
        _req("run_id", pa.string()),
        _req("pipeline", pa.string()),
        _req("schema_version", pa.string()),
        _req("started_at", pa.string()),
        _req("finished_at", pa.string()),
        _req("inputs", pa.list_(pa.string())),
        _req("outputs", STR_MAP),
        _req("config", pa.string()),  # the resolved config as JSON
        _req("versions", STR_MAP),  # package + model versions
        _req("counts", pa.list_(COUNT)),
        _req("totals", pa.map_(pa.string(), pa.int64())),  # input, kept, rejected, duplicate
        _req("balanced", pa.bool_()),  # input == kept + rejected + duplicate
    ],
)

ALL_SCHEMAS: dict[str, pa.Schema] = {
    "Document": DOCUMENT,
    "Rejection": REJECTION,
    "Duplicate": DUPLICATE,
    "DedupIndex": DEDUP_INDEX,
    "Annotation": ANNOTATION,
    "ShardRow": SHARD_ROW,
    "SynthRecord": SYNTH_RECORD,
    "RunManifest": RUN_MANIFEST,
}
