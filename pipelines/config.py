"""One validated run config: configs/default.yaml, then the user's YAML, then --set overrides."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import yaml
from apache_beam.io.filesystems import FileSystems

from curation.config_merge import deep_merge
from pipelines import config_schema
from pipelines.config_schema import DEFAULT_CONFIG, DEFAULTS_LABEL, SOURCE_TYPES, ConfigError, KeyPath

__all__ = [
    "DEFAULT_CONFIG", "SOURCE_TYPES", "ConfigError", "apply_override", "config_json", "load_config", "resolve_paths",
    "validate_config",
]  # fmt: skip

Origins = dict[KeyPath, str]  # key path → where its value was written: FILE:LINE:COL, --set KEY=VALUE


def _read_yaml(path: str | Path, label: str | None = None) -> tuple[dict, Origins]:
    """A YAML mapping from any Beam filesystem (local, gs://, s3://) and where each key is in it (``label:L:C``);
    a syntax error names the file and line."""
    label = label or str(path)
    try:
        with FileSystems.open(str(path)) as f:
            raw = f.read().decode("utf-8")
    except Exception as err:  # BeamIOError / OSError / UnicodeDecodeError: the message names the path
        raise ConfigError(f"{path}: cannot read the config ({err})") from None
    loader = yaml.SafeLoader(raw)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        origins: Origins = {(): label}
        _marks(loader, node, (), label, origins)
        return data or {}, origins
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: invalid YAML: {getattr(err, 'problem', None) or err}") from None
    finally:
        loader.dispose()


def _marks(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, label: str, out: Origins) -> None:
    """Record ``label:line:column`` of every key (of every list item) under ``node``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            mark = key_node.start_mark
            out[(*path, key)] = f"{label}:{mark.line + 1}:{mark.column + 1}"
            _marks(loader, value_node, (*path, key), label, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            mark = item.start_mark
            out[(*path, i)] = f"{label}:{mark.line + 1}:{mark.column + 1}"
            _marks(loader, item, (*path, i), label, out)


def _overlay(origins: Origins, config: dict, layer: Origins) -> None:
    """Origins after merging a layer over the config (``deep_merge``): a key the layer gives a non-mapping value
    replaces everything beneath it."""
    for path in layer:
        if path and not isinstance(_value_at(config, path), dict):
            for old in [p for p in origins if p[: len(path)] == path]:
                del origins[old]
    origins.update(layer)


def _value_at(config: dict, path: KeyPath) -> object:
    node: object = config
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def apply_override(config: dict, assignment: str, origins: Origins | None = None) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) in place; ``origins`` then names ``--set a.b.c=value``."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE")
    key, raw = assignment.split("=", 1)
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping")
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {assignment}: invalid YAML value ({getattr(err, 'problem', None) or err})") from None
    if origins is not None:
        path = tuple(parts)
        for old in [p for p in origins if p[: len(path)] == path]:
            del origins[old]
        origins[path] = f"--set {assignment}"


def validate_config(config: dict, origins: Origins | None = None) -> dict:
    """Every key known, every value of its type and range (pipelines/config_schema.py); ConfigError otherwise."""
    config_schema.check(config, origins)
    return config


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
    """Defaults, the user's YAML merged over them, then ``--set`` overrides; validated before any job starts."""
    config, origins = _read_yaml(DEFAULT_CONFIG, DEFAULTS_LABEL)
    if path:
        user, marks = _read_yaml(path)
        config = deep_merge(config, user)
        _overlay(origins, config, marks)
    for assignment in overrides:
        apply_override(config, assignment, origins)
    local = path and "://" not in path and Path(path).resolve() != DEFAULT_CONFIG  # the defaults: repo-relative
    base = Path(path).resolve().parent if local else DEFAULT_CONFIG.parent.parent
    return validate_config(resolve_paths(config, base), origins)


def config_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)
