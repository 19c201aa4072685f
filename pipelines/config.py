"""One validated run config: configs/default.yaml, then the user's YAML, then --set overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import fsspec
import yaml

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
    with fsspec.open(str(path), "r", encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
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


def validate_config(config: dict) -> dict:
    unknown = set(config) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"unknown config section(s): {sorted(unknown)}; known: {list(SECTIONS)}")
    if not str(config["run"].get("output", "")):
        raise ConfigError("run.output: required")
    if not isinstance(config.get("sources"), list) or not config["sources"]:
        raise ConfigError("sources: a non-empty list is required")
    names = set()
    for i, src in enumerate(config["sources"]):
        for key in ("name", "type", "paths"):
            if key not in src:
                raise ConfigError(f"sources[{i}].{key}: required")
        if src["type"] not in SOURCE_TYPES:
            raise ConfigError(f"sources[{i}].type: {src['type']!r} not in {SOURCE_TYPES}")
        if not isinstance(src["paths"], list) or not src["paths"]:
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
    for src in config["sources"]:
        src["paths"] = [p if "://" in p or Path(p).is_absolute() else str(base / p) for p in src["paths"]]
    return config


def load_config(path: str | None = None, overrides: Iterable[str] = ()) -> dict:
    config = _read_yaml(DEFAULT_CONFIG)
    if path:
        config = deep_merge(config, _read_yaml(path))
    for assignment in overrides:
        apply_override(config, assignment)
    base = Path(path).resolve().parent if path and "://" not in path else DEFAULT_CONFIG.parent.parent
    return validate_config(resolve_paths(config, base))


def config_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)
