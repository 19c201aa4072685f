"""The run config's schema: every key a run reads, its type and range, and the mappings whose keys are the user's.

Why strict: a misspelt key (``txt_field:``) used to load silently and leave the default in force, and a bad value
(``max_retries: -1``) failed hours later inside a worker, or never. Now both fail at load time, before any job
starts, with the dotted key, where it was written (file:line:column, ``--set KEY=VALUE`` or the defaults file) and,
for a typo, the closest known key.

Where the schema comes from: configs/default.yaml documents every key, so its keys are known and typed by their
default values; ``rules()`` adds types, ranges and enums, and the keys the defaults leave unset. A rule pattern is a
dotted key where ``*`` is any key of an open mapping (stages, tasks, languages ...) and ``[]`` any list item; a rule
at a mapping's pattern checks the values allowed instead of a mapping (``null`` removes a stage). ``key_rules()``
checks the keys of open mappings: names that become output paths must be safe. ``filters`` is checked against the
filter classes (``curation.filters``). After the shapes, ``POST_CHECKS`` run checks across keys and build the
settings objects the pipelines build (MinHash banding, mixture recipes, sandbox limits ...), so that their own
checks also run at load time.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
DEFAULTS_LABEL = "configs/default.yaml"  # how messages name the defaults file
KeyPath = tuple[Any, ...]  # a key path: mapping keys and list indexes
Check = Callable[[Any], "str | None"]  # None when the value is fine, else what is required


class ConfigError(ValueError):
    """The run config is invalid; the message names the key and where it was written."""


# --------------------------------------------------------------------------------------------------- value checks


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def integer(lo: int | None = None) -> Check:
    need = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer >= {lo}")
    return lambda v: None if _is_int(v) and (lo is None or v >= lo) else f"{need} is required"


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False, need: str = "") -> Check:
    """A real number in a range; ``lo_open``: ``lo`` itself is excluded."""
    if not need:
        if lo is not None and hi is not None:
            need = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
        elif lo == 0:
            need = "a positive number" if lo_open else "a non-negative number"
        else:
            need = "a number" if lo is None else f"a number {'>' if lo_open else '>='} {lo:g}"

    def check(v: Any) -> str | None:
        ok = _is_num(v) and (lo is None or v > lo or (v == lo and not lo_open)) and (hi is None or v <= hi)
        return None if ok else f"{need} is required"

    return check


def one_of(*values: str) -> Check:
    def check(v: Any) -> str | None:
        if v in values:
            return None
        close = difflib.get_close_matches(str(v), values, n=1) if isinstance(v, str) else []
        return f"one of {', '.join(values)} is required" + (f" (did you mean {close[0]!r}?)" if close else "")

    return check


def pattern(regex: str, need: str) -> Check:
    compiled = re.compile(regex)
    return lambda v: None if isinstance(v, str) and compiled.fullmatch(v) else f"{need} is required"


def nullable(check: Check) -> Check:
    return lambda v: None if v is None else (None if check(v) is None else f"{check(v)} (or null)")


def either(*checks: Check) -> Check:
    def check(v: Any) -> str | None:
        problems = [c(v) for c in checks]
        if None in problems:
            return None
        return " or ".join(str(p).removesuffix(" is required") for p in problems) + " is required"

    return check


def listing(non_empty: bool = False) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return "a list is required"
        return "a non-empty list is required" if non_empty and not v else None

    return check


def _safe_name(v: Any) -> str | None:
    ok = isinstance(v, str) and SAFE_NAME.fullmatch(v) is not None and ".." not in v
    return None if ok else "a safe name (letters, digits, '_', '.', '-'; no '..' or '/': it becomes a path) is required"


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
BOOL: Check = lambda v: None if isinstance(v, bool) else "true or false is required"  # noqa: E731
STR: Check = lambda v: None if isinstance(v, str) and v else "a non-empty string is required"  # noqa: E731
OPT_STR: Check = lambda v: None if isinstance(v, str) else "a string is required"  # noqa: E731
ANY: Check = lambda v: None  # noqa: E731
NULL: Check = lambda v: None if v is None else "a mapping (or null) is required"  # noqa: E731
MAPPING: Check = lambda v: None if isinstance(v, dict) else "a mapping is required"  # noqa: E731
NAME: Check = _safe_name
INT, NONNEG_INT, POS_INT = integer(), integer(0), integer(1)
NUM, NONNEG, POSITIVE = number(), number(0), number(0, lo_open=True)
SECONDS = number(0, lo_open=True, need="a positive number (seconds)")
SHARE = number(0, 1)
OPEN_SHARE = number(0, 1, lo_open=True)  # (0, 1]
DEVICE = pattern(r"[a-z]+(:\d+)?", "a device (cpu, cuda, cuda:N, auto ...)")
LANG = pattern(r"[a-z]{3}(_[A-Z][a-z]{3})?", "an ISO 639-3 code or code_Script tag (eng, eng_Latn)")
LANG_TAG = pattern(r"[a-z]{3}_[A-Z][a-z]{3}", "an ISO 639-3 + script tag (eng_Latn)")
FILTER_LANG = pattern(r"[A-Z][a-z]{3}|[a-z]{3}(_[A-Z][a-z]{3})?", "an ISO 15924 script, ISO 639-3 code or tag")


def _stage_list(v: Any) -> str | None:
    """``mix.stages`` is a mapping by name; the older list of ``{name: ...}`` entries still works."""
    return None if isinstance(v, list) else "a mapping of stage name to recipe is required"


def _token_count(v: Any) -> str | None:
    """Token budgets: YAML reads ``2e9`` as a string, and the recipe parser takes it (int(float(...)))."""
    try:
        ok = not isinstance(v, bool) and float(v) >= 0
    except (TypeError, ValueError):
        ok = False
    return None if ok else "a non-negative token count (e.g. 30000000000000 or 3e13) is required"


# ---------------------------------------------------------------------------------------------------------- rules

# Kept here, not imported: importing pipelines.annotate / curation.pdf.ocr pulls PDF and Beam I/O into every config
# load. tests/pipelines/test_config.py checks that they equal the code's constants.
ANNOTATE_MODES = ("teacher", "student", "both")
ANNOTATE_BACKENDS = ("transformers", "openai-http")
OCR_BACKENDS = ("auto", "tesseract", "vision", "none")
OCR_KEYS = {
    "auto": ("dpi", "languages", "tessdata", "psm", "timeout"),  # auto is tesseract when it is installed
    "tesseract": ("dpi", "languages", "tessdata", "psm", "timeout"),
    "vision": ("base_url", "model", "api_key", "api_key_env", "timeout", "max_concurrency", "max_retries", "prompt",
               "max_tokens", "dpi", "backoff"),
    "none": (),
}  # fmt: skip
SOURCE_TYPES = ("pdf", "jsonl", "parquet", "text", "code")
SOURCE_KEYS = {  # keys each source type reads (pipelines/io.py, read_*.py), beyond name, type, paths, allow_empty
    "pdf": ("languages", "shingles"),
    "jsonl": ("text_field", "id_field", "detect_encoding", "split_bytes", "max_line_bytes", "shingles"),
    "parquet": ("text_field", "id_field", "shingles"),
    "text": ("max_bytes", "detect_encoding", "shingles"),
    "code": ("max_bytes", "detect_encoding", "shingles"),
}  # shingles: the source's own near-dedup shingling over dedup.shingles (pipelines.dedup.source_shingles)


def _prefixed(prefix: str, rules: Mapping[str, Check]) -> dict[str, Check]:
    return {f"{prefix}.{key}": check for key, check in rules.items()}


@functools.cache
def rules() -> dict[str, Check]:
    """Pattern → check. Built on first use: the enums come from the modules that own them."""
    from annotators.backends.chat_templates import TEMPLATES
    from annotators.backends.openai_http import STRUCTURED_STYLES
    from annotators.tasks.registry import TASKS
    from curation.decontam import LOADERS
    from curation.dedup.keeper import POLICIES
    from curation.mixture import BALANCE_METHODS

    http = {
        "base_url": STR, "chat_template": one_of(*TEMPLATES), "concurrency": POS_INT, "timeout_s": SECONDS,
        "max_retries": NONNEG_INT, "backoff_s": NONNEG, "backoff_max_s": NONNEG, "top_logprobs": POS_INT,
        "api_key_env": nullable(STR), "structured_style": one_of(*STRUCTURED_STYLES), "extra_body": MAPPING,
    }  # fmt: skip
    backend = {
        "backend": one_of(*ANNOTATE_BACKENDS), "model": STR, "device": DEVICE, "batch_size": POS_INT,
        "torch_threads": nullable(POS_INT), "max_prompt_tokens": POS_INT,
        "dtype": nullable(one_of("float32", "bfloat16", "float16")), **_prefixed("http", http),
    }  # fmt: skip
    sampling = {"n": POS_INT, "temperature": NONNEG, "top_p": OPEN_SHARE, "max_tokens": POS_INT, "stop": listing(),
                "stop[]": STR}  # fmt: skip
    shingles = {"word_ngram": POS_INT, "char_ngram": POS_INT, "casefold": BOOL, "digits": BOOL, "punctuation": BOOL,
                "whitespace": BOOL}  # fmt: skip
    code_filters = {"max_line_length": POS_INT, "max_mean_line_length": POSITIVE, "min_alphanumeric_fraction": SHARE,
                    "max_encoded_fraction": SHARE, "max_encoded_run": POS_INT, "max_data_chars": POS_INT,
                    "min_chars": NONNEG_INT, "generated_head_lines": NONNEG_INT}  # fmt: skip
    proxy = {key: POS_INT for key in ("d_model", "n_layers", "n_heads", "context", "batch_size", "steps")}
    proxy |= {"lr": POSITIVE, "torch_threads": POS_INT}
    balance = {"method": one_of(*BALANCE_METHODS), "weights.*": NONNEG, "temperature": POSITIVE,
               "max_epochs": POSITIVE}  # fmt: skip
    recipe = {
        "name": NAME, "seq_len": POS_INT, "budget_tokens": nullable(_token_count), "seed": INT,
        "max_epochs": POSITIVE, "min_tokens": NONNEG_INT, "min_edu_score": nullable(NUM), "domains": listing(),
        "domains[]": STR, "code_licenses": listing(), "code_licenses[]": STR, "chunk_long_docs": BOOL,
        "max_windows": POS_INT, "draw_name": nullable(STR),
        "weights.edu_beta": NUM, "weights.edu_pivot": NUM, "weights.edu_missing": nullable(NUM),
        "weights.domain.*": NONNEG, "weights.lang.*": NONNEG, "weights.source.*": NONNEG,
        "weights.length_pivot": POS_INT, "weights.length_gamma": NUM, "weights.dup_alpha": NUM,
        "weights.dup_cap": POS_INT, "weights.safety_max": NUM, "weights.safety_gamma": NUM,
        "balance.*": either(NULL, one_of(*BALANCE_METHODS)), **_prefixed("balance.*", balance),
        "buckets": listing(), "buckets[].name": NAME, "buckets[].min_tokens": NONNEG_INT,
        "buckets[].max_tokens": NONNEG_INT, "buckets[].share": SHARE,
    }  # fmt: skip
    out: dict[str, Check] = {
        "run.output": STR, "run.seed": INT, "run.local_batch_mb": NONNEG,
        "sources": listing(non_empty=True), "sources[].name": NAME, "sources[].type": one_of(*SOURCE_TYPES),
        "sources[].paths": listing(non_empty=True), "sources[].paths[]": STR, "sources[].languages": listing(),
        "sources[].languages[]": LANG, "sources[].text_field": STR, "sources[].id_field": STR,
        "sources[].detect_encoding": BOOL, "sources[].max_bytes": POS_INT, "sources[].allow_empty": BOOL,
        "sources[].split_bytes": POS_INT, "sources[].max_line_bytes": POS_INT,
        **_prefixed("sources[].shingles", shingles),
        "extract.pdf_max_pages": POS_INT, "extract.pdf_max_bytes": POS_INT, "extract.pdf_pages_per_document": POS_INT,
        "extract.pdf_timeout_s": SECONDS, "extract.pdf_max_memory_mb": NONNEG_INT,
        "extract.pdf_ocr_pages_per_task": NONNEG_INT, "extract.ocr.psm": integer(0),
        "extract.ocr.backend": one_of(*OCR_BACKENDS), "extract.ocr.dpi": POS_INT,
        "extract.ocr.languages": nullable(either(STR, listing())), "extract.ocr.languages[]": STR,
        "extract.ocr.tessdata": nullable(STR), "extract.ocr.base_url": STR, "extract.ocr.model": STR,
        "extract.ocr.api_key": nullable(STR), "extract.ocr.api_key_env": nullable(STR), "extract.ocr.timeout": SECONDS,
        "extract.ocr.max_concurrency": POS_INT, "extract.ocr.max_retries": NONNEG_INT, "extract.ocr.prompt": STR,
        "extract.ocr.max_tokens": POS_INT, "extract.ocr.backoff": NONNEG,
        "normalize.max_chars": POS_INT, "normalize.max_junk_ratio": SHARE,
        "code.redact": BOOL, "code.keep_unknown_language": BOOL, **_prefixed("code.filters", code_filters),
        "code.filters.languages": MAPPING, "code.filters.languages.*": MAPPING,
        **_prefixed("code.filters.languages.*", code_filters),
        "langid.model": STR, "langid.label_format": one_of("auto", "code", "code_script"), "langid.batch_size": POS_INT,
        "langid.top_k": POS_INT, "langid.script_prior": BOOL, "langid.script_prior.enabled": BOOL,
        "langid.script_prior.min_share": SHARE, "langid.short_text": BOOL, "langid.short_text.enabled": BOOL,
        "langid.short_text.min_letters": NONNEG_INT, "langid.short_text.declared_field": STR,
        "langid.short_text.declared_prior": number(0, 1, lo_open=True, need="a number in (0, 1)"),
        "langid.short_text.policy": one_of("keep", "scale", "und"), "langid.paragraph_vote": BOOL,
        "langid.paragraph_vote.enabled": BOOL, "langid.paragraph_vote.min_chars": POS_INT,
        "langid.paragraph_vote.chunk_chars": POS_INT, "langid.paragraph_vote.max_chunks": POS_INT,
        "langid.paragraph_vote.mixed_share": SHARE, "langid.min_score": SHARE, "langid.min_score_per_lang.*": SHARE,
        "langid.languages": listing(), "langid.languages[]": LANG_TAG,
        "dedup.exact": BOOL, "dedup.near": BOOL, "dedup.keep": one_of(*POLICIES), "dedup.source_priority": listing(),
        "dedup.source_priority[]": STR, **_prefixed("dedup.shingles", shingles),
        "dedup.minhash.num_perm": POS_INT, "dedup.minhash.bands": POS_INT, "dedup.minhash.rows": POS_INT,
        "dedup.minhash.seed": INT,
        "dedup.verify_jaccard": nullable(number(0, 1, lo_open=True, need="a Jaccard threshold in (0, 1]")),
        "dedup.verify_centres": POS_INT, "dedup.max_rounds": POS_INT, "dedup.batch_size": POS_INT,
        "dedup.previous": listing(), "dedup.previous[]": STR, "dedup.index_lookup": one_of("join", "keys"),
        "dedup.components": one_of("star_rounds", "one_worker"),
        "decontam.curate": BOOL, "decontam.benchmarks": listing(), "decontam.benchmarks[]": _benchmark(tuple(LOADERS)),
        "decontam.paths": listing(), "decontam.paths[]": STR, "decontam.ngram": integer(3),
        "decontam.min_ngram_hits": POS_INT, "decontam.min_containment": OPEN_SHARE, "decontam.min_shared": POS_INT,
        "decontam.window_tokens": integer(20),
        "annotate.tasks": listing(non_empty=True), "annotate.tasks[]": one_of(*TASKS),
        "annotate.mode": one_of(*ANNOTATE_MODES), "annotate.modes.*": one_of(*ANNOTATE_MODES),
        "annotate.students.*": nullable(STR), "annotate.teacher_sample": SHARE,
        "annotate.teacher_max_docs": nullable(either(one_of("auto"), NONNEG_INT)), "annotate.max_doc_chars": POS_INT,
        "annotate.cache": BOOL, "annotate.cache_path": nullable(STR), **_prefixed("annotate", backend),
        "synth.enabled": BOOL, "synth.input": nullable(STR), "synth.seed": INT, "synth.max_pairs": nullable(POS_INT),
        "synth.seeds.min_edu_score": NUM, "synth.seeds.domains": listing(), "synth.seeds.domains[]": STR,
        "synth.seeds.on_missing": one_of("accept", "reject"), "synth.seeds.max_chars": POS_INT,
        "synth.recipes.*": NULL, "synth.recipes.*.file": NAME, "synth.recipes.*.domains": listing(),
        "synth.recipes.*.domains[]": STR, "synth.recipes.*.candidates": POS_INT, "synth.recipes.*.enabled": BOOL,
        "synth.recipes.*.verify_samples": POS_INT, **_prefixed("synth.recipes.*.sampling", sampling),
        **_prefixed("synth.recipes.*.verify_sampling", sampling),
        "synth.math.min_agreement": SHARE, "synth.math.min_votes": POS_INT, "synth.math.allow_last_number": BOOL,
        "synth.explanation.min_chars": NONNEG_INT, "synth.explanation.max_repeated_share": SHARE,
        "synth.sandbox.wall_s": SECONDS, "synth.sandbox.cpu_s": POS_INT, "synth.sandbox.memory_mb": NONNEG_INT,
        "synth.sandbox.file_mb": POS_INT, "synth.sandbox.output_chars": NONNEG_INT, "synth.sandbox.netns": BOOL,
        "synth.sandbox.audit_hook": BOOL, "synth.sandbox.processes": POS_INT, "synth.sandbox.open_files": integer(16),
        "synth.sandbox.tmp_mb": POS_INT, "synth.sandbox.isolation": one_of("bwrap", "unsafe"),
        "synth.sandbox.python": OPT_STR, "synth.decontam": BOOL, "synth.dedup": BOOL, **_prefixed("synth", backend),
        "mix.seed": INT, "mix.exclude_heldout": BOOL, "mix.shards.max_rows": POS_INT, "mix.shards.max_bytes": POS_INT,
        "mix.shards.fill": OPEN_SHARE, "mix.shards.pretokenize": BOOL,
        "mix.shards.compression": one_of("zstd", "snappy", "gzip", "brotli", "lz4", "none"),
        "mix.synth.include": BOOL, "mix.synth.input": nullable(STR), "mix.synth.stages": listing(),
        "mix.synth.stages[]": NAME, "mix.synth.weight": NONNEG, "mix.synth.max_share": nullable(OPEN_SHARE),
        "mix.synth.edu_default": NUM, "mix.synth.seed": INT,
        "mix.stages": _stage_list, "mix.stages.*": NULL, **_prefixed("mix.stages.*", recipe),
        "mix.ablation.base": NAME, "mix.ablation.dimension": one_of("domain", "lang", "source"),
        "mix.ablation.k": POS_INT, "mix.ablation.concentration": POSITIVE, "mix.ablation.seed": INT,
        "mix.ablation.seeds": listing(non_empty=True), "mix.ablation.seeds[]": INT, "mix.ablation.tokens": POS_INT,
        "mix.ablation.heldout_share": SHARE, "mix.ablation.eval_bytes": POS_INT,
        "mix.ablation.min_target_bytes": NONNEG_INT, "mix.ablation.verify_best": BOOL,
        "mix.ablation.verify_seeds": nullable(listing()), "mix.ablation.verify_seeds[]": INT,
        "mix.ablation.regression": STR, "mix.ablation.device": DEVICE, "mix.ablation.proxy": NAME,
        **_prefixed("mix.ablation.proxy", proxy), **_prefixed("mix.ablation.presets.*", proxy),
    }  # fmt: skip
    return out


def _benchmark(names: tuple[str, ...]) -> Check:
    """A bundled benchmark name or a JSONL path (curation.decontam.load_benchmark)."""

    def check(v: Any) -> str | None:
        if isinstance(v, str) and (v in names or v.endswith((".jsonl", ".jsonl.gz", ".json")) or "/" in v):
            return None
        close = difflib.get_close_matches(str(v), names, n=1)
        return f"one of {', '.join(names)} or a JSONL path is required" + (
            f" (did you mean {close[0]!r}?)" if close else ""
        )

    return check


@functools.cache
def key_rules() -> dict[str, Check]:
    """Checks of the keys of open mappings (pattern of the mapping → check of each key)."""
    from annotators.tasks.registry import TASKS
    from curation.mixture import DIMENSIONS
    from synth.recipe import KINDS

    return {
        "langid.min_score_per_lang": LANG,
        "annotate.modes": one_of(*TASKS),
        "annotate.students": one_of(*TASKS),
        "synth.recipes": one_of(*KINDS),
        "mix.stages": NAME,
        "mix.ablation.presets": NAME,
        "mix.stages.*.balance": one_of(*DIMENSIONS),
    }


# ---------------------------------------------------------------------------------------------------- the schema


def _split(pat: str) -> tuple[str, str]:
    """``a.b[]`` → (``a.b``, ``[]``); ``a.b.c`` → (``a.b``, ``c``); ``a`` → ("", ``a``)."""
    if pat.endswith("[]"):
        return pat[:-2], "[]"
    parent, _, key = pat.rpartition(".")
    return parent, key


def _child(pat: str, key: str) -> str:
    if key == "[]":
        return pat + "[]"
    return f"{pat}.{key}" if pat else key


def _inferred(default: Any) -> Check | None:
    """A key absent from RULES is typed by its default value (null: any value)."""
    if isinstance(default, bool):
        return BOOL
    if isinstance(default, int):
        return INT
    if isinstance(default, float):
        return NUM
    if isinstance(default, str):
        return STR
    return listing() if isinstance(default, list) else None


class Schema:
    """Known keys per pattern (from the defaults and RULES) and the checks of values and open keys."""

    def __init__(self, defaults: Mapping[str, Any]):
        self.rules = dict(rules())
        self.children: dict[str, set[str]] = defaultdict(set)
        for pat in self.rules:
            self._add(pat)
        self._infer(defaults, "")

    def _add(self, pat: str) -> None:
        while pat:
            parent, key = _split(pat)
            self.children[parent].add(key)
            pat = parent

    def _infer(self, value: Any, pat: str) -> None:
        if pat:
            self._add(pat)
        if isinstance(value, dict) and pat not in CUSTOM:
            opened = "*" in self.children[pat]
            for key, item in value.items():
                self._infer(item, _child(pat, "*" if opened else str(key)))
        elif isinstance(value, list) and value and (isinstance(value[0], dict) or pat + "[]" in self.rules):
            for item in value:
                self._infer(item, pat + "[]")
        elif pat not in self.rules and (check := _inferred(value)) is not None:
            self.rules[pat] = check

    def is_mapping(self, pat: str) -> bool:
        return bool(self.children.get(pat, set()) - {"[]"})


@functools.cache
def schema() -> Schema:
    return Schema(yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------------- validation


def dotted(path: KeyPath) -> str:
    """``("sources", 1, "txt_field")`` → ``sources[1].txt_field``; odd keys are quoted: ``stages['../x']``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


class Validator:
    """Walks a merged config along the schema; ``where(path)`` is where the user wrote the key."""

    def __init__(self, config: dict, origins: Mapping[KeyPath, str] | None = None):
        self.config = config
        self.origins = origins or {}
        self.schema = schema()

    def where(self, path: KeyPath, deep: bool = False) -> str:
        """Where the key was written. A key from the defaults with a user's value beneath it (a deep ``--set``), or
        with ``deep`` (a check of a whole mapping), names the first user-written key beneath it; else the nearest."""
        own = self.origins.get(path)
        if own is not None and not own.startswith(DEFAULTS_LABEL) and not deep:
            return own
        n = len(path)
        user = (o for p, o in self.origins.items() if len(p) > n and p[:n] == path and not o.startswith(DEFAULTS_LABEL))
        below = next(user, None)
        if below:
            return below
        for n in range(len(path), -1, -1):
            if path[:n] in self.origins:
                return self.origins[path[:n]]
        return ""

    def fail(self, path: KeyPath, problem: str, deep: bool = False) -> NoReturn:
        where = self.where(path, deep)
        raise ConfigError(f"{dotted(path)}: {problem}" + (f" at {where}" if where else ""))

    def bad_value(self, path: KeyPath, problem: str, value: Any) -> NoReturn:
        self.fail(path, f"{problem}, got {value!r}")

    def unknown(
        self, path: KeyPath, known: set[str] | tuple[str, ...], what: str = "key", name: Any = None
    ) -> NoReturn:
        """An unknown key (or ``name``, a value naming something) with the closest known one, else the known ones."""
        close = difflib.get_close_matches(str(path[-1] if name is None else name), sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"
        self.fail(path, f"unknown {what}{hint}")

    def walk(self, value: Any, pat: str = "", path: KeyPath = ()) -> None:
        if pat in CUSTOM:
            CUSTOM[pat](self, value, path)
            return
        kids = self.schema.children.get(pat, set())
        names = kids - {"*", "[]"}
        check = self.schema.rules.get(pat)
        if isinstance(value, dict) and self.schema.is_mapping(pat):
            for key, item in value.items():
                if key in names:
                    self.walk(item, _child(pat, key), (*path, key))
                elif "*" in kids:
                    key_check = key_rules().get(pat, ANY)
                    problem = key_check(key) if isinstance(key, str) else "a string key is required"
                    if problem:
                        self.fail((*path, key), f"not a valid name here: {problem}")
                    self.walk(item, _child(pat, "*"), (*path, key))
                else:
                    self.unknown((*path, key), names, "config section" if not path else "key")
            return
        if check is not None:
            problem = check(value)
            if problem:
                self.bad_value(path, problem, value)
        elif self.schema.is_mapping(pat):
            self.bad_value(path, "a mapping is required", value)
        if isinstance(value, list) and "[]" in kids:
            item_pat = _child(pat, "[]")
            for i, item in enumerate(value):
                self.walk(item, item_pat, (*path, i))
        elif isinstance(value, list) and pat == "mix.stages":  # the list form: [{name: S1, ...}, ...]
            for i, item in enumerate(value):
                self.walk(item, "mix.stages.*", (*path, i))

    def run(self) -> None:
        self.walk(self.config)
        for check in POST_CHECKS:
            check(self)

    def settings(self, pat: str, build: Callable[[Any], object]) -> None:
        """Build the settings object a pipeline builds from each value at ``pat``; its ValueError names the key."""
        for path, value in _find(self.config, pat.split(".")):
            try:
                build(value)
            except (TypeError, ValueError) as err:
                self.fail(path, str(err), deep=True)


def _find(node: Any, parts: list[str], path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    if not parts:
        yield path, node
        return
    if not isinstance(node, dict):
        return
    keys = list(node) if parts[0] == "*" else [parts[0]] if parts[0] in node else []
    for key in keys:
        if node[key] is not None:
            yield from _find(node[key], parts[1:], (*path, key))


# --------------------------------------------------------------------------------------------- filters (custom)


def _check_filters(v: Validator, value: Any, path: KeyPath) -> None:
    """Filter names and each filter's settings (also per language) against the filter classes' DEFAULTS."""
    from curation.filters import FILTERS

    if not isinstance(value, dict):
        v.bad_value(path, "a mapping of filter name to thresholds is required", value)
    for name, section in value.items():
        where = (*path, name)
        if name not in FILTERS:
            v.unknown(where, tuple(FILTERS), "quality filter")
        if section is None or section is False:
            continue
        if not isinstance(section, dict):
            v.bad_value(where, "a mapping of thresholds, false or null is required", section)
        flt = FILTERS[name]({})
        for key, setting in section.items():
            if key != "languages":
                _filter_setting(v, flt, (*where, key), setting, top=True)
                continue
            if setting is None:
                continue
            if not isinstance(setting, dict):
                v.bad_value((*where, key), "a mapping of language code to thresholds is required", setting)
            for code, over in setting.items():
                problem = FILTER_LANG(code)
                if problem:
                    v.fail((*where, key, code), f"not a valid language key: {problem}")
                if over is None:
                    continue
                if not isinstance(over, dict):
                    v.bad_value((*where, key, code), "a mapping of thresholds is required", over)
                for sub, threshold in over.items():
                    _filter_setting(v, flt, (*where, key, code, sub), threshold, top=False)


def _filter_setting(v: Validator, flt: Any, path: KeyPath, value: Any, top: bool) -> None:
    default = flt.default_for(path[-1]) if isinstance(path[-1], str) else None
    if default is None:
        v.unknown(path, (*flt.DEFAULTS, "languages") if top else tuple(flt.DEFAULTS), "setting")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            v.bad_value(path, "true or false is required", value)
    elif value is not None and not _is_num(value):
        v.bad_value(path, "a number (or null: check off) is required", value)


CUSTOM: dict[str, Callable[[Validator, Any, KeyPath], None]] = {"filters": _check_filters}


# ------------------------------------------------------------------------------------------ checks across keys


def _sources(v: Validator) -> None:
    """Required keys, the keys of each source type, unique names; dedup.source_priority names real sources."""
    names: set[str] = set()
    for i, src in enumerate(v.config["sources"]):
        for key in ("name", "type", "paths"):
            if key not in src:
                v.fail(("sources", i, key), "required")
        allowed = ("name", "type", "paths", "allow_empty", *SOURCE_KEYS[src["type"]])
        for key in src:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                v.fail(("sources", i, key), f"not a key of a {src['type']} source ({hint}keys: {', '.join(allowed)})")
        if src["name"] in names:
            v.fail(("sources", i, "name"), f"duplicate source name {src['name']!r}")
        names.add(src["name"])
    for i, name in enumerate(v.config["dedup"].get("source_priority") or ()):
        if name not in names:
            v.unknown(("dedup", "source_priority", i), tuple(names), f"source {name!r}", name)


def _required(v: Validator) -> None:
    if not v.config["run"].get("output"):
        v.fail(("run", "output"), "required")


def _ocr(v: Validator) -> None:
    """Settings the OCR backend does not take fail the extraction of every PDF: say so now."""
    ocr = v.config.get("extract", {}).get("ocr") or {}
    backend = ocr.get("backend", "none")
    allowed = {k for keys in OCR_KEYS.values() for k in keys} if backend == "none" else set(OCR_KEYS[backend])
    for key in ocr:
        if key != "backend" and key not in allowed:
            keys = ", ".join(OCR_KEYS[backend]) or "none"
            v.fail(("extract", "ocr", key), f"not a setting of OCR backend {backend!r} (its settings: {keys}); "
                   "--set 'extract.ocr={backend: ...}' replaces the whole section")  # fmt: skip


def _proxy(v: Validator) -> None:
    ablation = v.config.get("mix", {}).get("ablation") or {}
    proxy, presets = ablation.get("proxy"), ablation.get("presets") or {}
    if isinstance(proxy, str) and proxy not in presets:
        v.unknown(("mix", "ablation", "proxy"), tuple(presets), f"proxy preset {proxy!r}", proxy)


def _built_settings(v: Validator) -> None:
    """The settings objects the pipelines build, built now: their own range and cross-key checks run at load."""
    from annotators.backends.base import SamplingParams
    from curation.config_merge import merged_filter_config
    from curation.decontam import DecontamSettings
    from curation.dedup.minhash import MinHashParams
    from curation.dedup.shingles import ShingleConfig
    from curation.filters import build_filters
    from curation.mixture import recipes_from_config
    from curation.proxy_lm import ProxyConfig
    from curation.text.lid_decision import DecisionConfig
    from pipelines.mix_synth import SynthMix
    from pipelines.mixing import ShardSpec
    from synth.sandbox import SandboxLimits
    from synth.seeds import SeedSettings
    from synth.verify import ExplanationSettings, MathSettings

    seed = v.config.get("mix", {}).get("seed", 0)
    for pat, build in (
        ("dedup.minhash", MinHashParams.from_mapping),
        ("dedup.shingles", ShingleConfig.from_mapping),
        ("langid", DecisionConfig.from_mapping),
        ("decontam", DecontamSettings.from_mapping),
        ("filters", lambda f: build_filters(merged_filter_config(f))),
        ("mix.stages", lambda stages: recipes_from_config(stages, seed=seed)),
        ("mix.shards", ShardSpec.from_config),
        ("mix.synth", SynthMix.from_config),
        ("mix.ablation.presets.*", ProxyConfig.from_mapping),
        ("synth.seeds", SeedSettings.from_mapping),
        ("synth.math", lambda m: MathSettings(**m)),
        ("synth.explanation", lambda e: ExplanationSettings(**e)),
        ("synth.sandbox", SandboxLimits.from_mapping),
        ("synth.recipes.*.sampling", lambda s: SamplingParams(**{**s, "stop": tuple(s.get("stop") or ())})),
        ("synth.recipes.*.verify_sampling", lambda s: SamplingParams(**{**s, "stop": tuple(s.get("stop") or ())})),
    ):
        v.settings(pat, build)


POST_CHECKS: tuple[Callable[[Validator], None], ...] = (_required, _sources, _ocr, _proxy, _built_settings)


def check(config: dict, origins: Mapping[KeyPath, str] | None = None) -> None:
    """Raise ConfigError on the first unknown key or bad value of ``config`` (merged defaults + user + --set)."""
    Validator(config, origins).run()
