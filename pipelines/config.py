"""One validated run config: configs/default.yaml, then the user's YAML, then --set overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import yaml
from apache_beam.io.filesystems import FileSystems

from curation.config_merge import deep_merge

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
SOURCE_TYPES = ("pdf", "jsonl", "parquet", "text")
SECTIONS = (
    "run",
    "sources",
    "extract",
    "normalize",
    "langid",
    "filters",
    "dedup",
    "decontam",
    "annotate",
    "synth",
    "mix",
)


class ConfigError(ValueError):
    """The run config is invalid; the message names the key."""


def _read_yaml(path: str | Path) -> dict:
    """A YAML mapping from any Beam filesystem (local, gs://, s3://); a syntax error names the file and line."""
    try:
        with FileSystems.open(str(path)) as f:
            raw = f.read().decode("utf-8")
    except Exception as err:  # BeamIOError / OSError / UnicodeDecodeError: the message names the path
        raise ConfigError(f"{path}: cannot read the config ({err})") from None
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: invalid YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def apply_override(config: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) in place."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE")
    key, raw = assignment.split("=", 1)
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping")
    node[parts[-1]] = yaml.safe_load(raw)


# Typed keys checked up front, so a malformed value fails at load time with its key, not deep inside a worker.
POSITIVE_INTS = (
    "extract.pdf_max_pages", "extract.pdf_max_bytes", "extract.pdf_pages_per_document", "normalize.max_chars",
    "langid.batch_size", "langid.top_k", "dedup.batch_size", "dedup.max_rounds", "annotate.batch_size",
    "annotate.max_doc_chars", "annotate.http.concurrency",
)  # fmt: skip
POSITIVE_NUMBERS = ("extract.pdf_timeout_s", "annotate.http.timeout_s")
SHARES = ("normalize.max_junk_ratio", "annotate.teacher_sample", "langid.min_score")
LISTS = ("langid.languages", "annotate.tasks", "dedup.previous")


def _lookup(config: dict, dotted: str) -> tuple[bool, object]:
    node: object = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _validate_types(config: dict) -> None:
    for section in SECTIONS:
        if section != "sources" and section in config and not isinstance(config[section], dict):
            raise ConfigError(f"{section}: a mapping is required, got {type(config[section]).__name__}")
    for key in POSITIVE_INTS:
        found, value = _lookup(config, key)
        if found and value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise ConfigError(f"{key}: a positive integer is required, got {value!r}")
    for key in POSITIVE_NUMBERS:
        found, value = _lookup(config, key)
        if found and value is not None and not (_is_number(value) and value > 0):
            raise ConfigError(f"{key}: a positive number (seconds) is required, got {value!r}")
    for key in SHARES:
        found, value = _lookup(config, key)
        if found and value is not None and not (_is_number(value) and 0 <= value <= 1):
            raise ConfigError(f"{key}: a number in [0, 1] is required, got {value!r}")
    for key in LISTS:
        found, value = _lookup(config, key)
        if found and value is not None and not isinstance(value, list):
            raise ConfigError(f"{key}: a list is required, got {value!r}")
    found, value = _lookup(config, "mix.stages")  # stages by name (a mapping); a list of {name: ...} still works
    if found and value is not None and not isinstance(value, dict | list):
        raise ConfigError(f"mix.stages: a mapping of stage name to recipe is required, got {value!r}")


def validate_config(config: dict) -> dict:
    unknown = set(config) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"unknown config section(s): {sorted(unknown)}; known: {list(SECTIONS)}")
    _validate_types(config)
    if not str(config["run"].get("output", "")):
        raise ConfigError("run.output: required")
    if not isinstance(config.get("sources"), list) or not config["sources"]:
        raise ConfigError("sources: a non-empty list is required")
    names = set()
    for i, src in enumerate(config["sources"]):
        if not isinstance(src, dict):
            raise ConfigError(f"sources[{i}]: a mapping with name, type and paths is required, got {src!r}")
        for key in ("name", "type", "paths"):
            if key not in src:
                raise ConfigError(f"sources[{i}].{key}: required")
        if src["type"] not in SOURCE_TYPES:
            raise ConfigError(f"sources[{i}].type: {src['type']!r} not in {SOURCE_TYPES}")
        if not isinstance(src["paths"], list) or not src["paths"] or not all(isinstance(p, str) for p in src["paths"]):
            raise ConfigError(f"sources[{i}].paths: a non-empty list of paths/globs is required")
        if src["name"] in names:
            raise ConfigError(f"sources[{i}].name: duplicate source name {src['name']!r}")
        names.add(src["name"])
    _validate_dedup(config["dedup"])
    return config


def _validate_dedup(dedup: dict) -> None:
    from curation.dedup.keeper import POLICIES
    from curation.dedup.minhash import MinHashParams
    from curation.dedup.shingles import ShingleConfig

    try:
        MinHashParams.from_mapping(dedup.get("minhash"))
        ShingleConfig.from_mapping(dedup.get("shingles"))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"dedup: {err}") from None
    if dedup.get("keep") not in POLICIES:
        raise ConfigError(f"dedup.keep: one of {', '.join(POLICIES)}")
    verify = dedup.get("verify_jaccard")
    if verify is not None and not (isinstance(verify, (int, float)) and 0 < verify <= 1):
        raise ConfigError(f"dedup.verify_jaccard: a Jaccard threshold in (0, 1] or null, got {verify!r}")


def resolve_paths(config: dict, base: Path) -> dict:
    """Make relative local source paths absolute against ``base`` (remote URLs are left alone)."""
    for src in config.get("sources") or ():
        if not isinstance(src, dict) or not isinstance(src.get("paths"), list):
            continue  # validate_config names the malformed field
        src["paths"] = [
            p if not isinstance(p, str) or "://" in p or Path(p).is_absolute() else str(base / p) for p in src["paths"]
        ]
    return config


def load_config(path: str | None = None, overrides: Iterable[str] = ()) -> dict:
    config = _read_yaml(DEFAULT_CONFIG)
    if path:
        config = deep_merge(config, _read_yaml(path))
    for assignment in overrides:
        apply_override(config, assignment)
    local = path and "://" not in path and Path(path).resolve() != DEFAULT_CONFIG  # the defaults: repo-relative
    base = Path(path).resolve().parent if local else DEFAULT_CONFIG.parent.parent
    return validate_config(resolve_paths(config, base))


def config_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)
