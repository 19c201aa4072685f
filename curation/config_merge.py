"""Merge a run's filter section over the filter defaults, so a config only names what it changes."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def deep_merge(base: dict, override: Mapping[str, Any]) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merged_filter_config(override: Mapping[str, Any]) -> dict:
    from curation.filters import DEFAULT_FILTER_CONFIG

    return deep_merge(DEFAULT_FILTER_CONFIG, override)
