"""Recipes: a versioned prompt (YAML under ``synth/recipes``) plus its sampling settings and, for math, the prompt
that samples independent solutions for verification. A changed prompt is a new file with a new ``version``, so every
SynthRecord's ``prompt_version`` names exactly the text that produced it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from annotators.backends.base import GenerationRequest, SamplingParams

KINDS = ("math", "explanation", "code")
DEFAULT_VERSIONS = {"math": "math_v1", "explanation": "explanation_v1", "code": "code_v1"}


def _sampling(cfg: Mapping[str, Any] | None, base: SamplingParams | None = None) -> SamplingParams:
    base = base or SamplingParams()
    cfg = dict(cfg or {})
    if "stop" in cfg:
        cfg["stop"] = tuple(cfg["stop"] or ())
    return SamplingParams(**{**base.__dict__, **cfg})


@dataclass(frozen=True)
class Recipe:
    name: str  # math | explanation | code
    version: str  # e.g. synth-math-v1
    kind: str
    system: str
    user: str  # with {document}
    sampling: SamplingParams
    json_schema: Mapping[str, Any] | None = None
    verify_system: str = ""
    verify_user: str = ""  # with {problem}
    verify_sampling: SamplingParams = field(default_factory=SamplingParams)

    def request(self, document: str, seed: int) -> GenerationRequest:
        return GenerationRequest(self.system, self.user.replace("{document}", document), seed)

    def verify_request(self, problem: str, seed: int) -> GenerationRequest:
        return GenerationRequest(self.verify_system, self.verify_user.replace("{problem}", problem), seed)

    def with_overrides(self, sampling: Mapping[str, Any] | None, verify_sampling: Mapping[str, Any] | None) -> Recipe:
        """The recipe with config overrides of its sampling settings (``synth.recipes.<name>.sampling``)."""
        return Recipe(
            **{
                **self.__dict__,
                "sampling": _sampling(sampling, self.sampling),
                "verify_sampling": _sampling(verify_sampling, self.verify_sampling),
            }
        )


def load_recipe(name: str, file: str | None = None) -> Recipe:
    """Read ``synth/recipes/<file or default version>.yaml``."""
    if name not in KINDS:
        raise ValueError(f"synth recipe {name!r}: one of {KINDS}")
    text = resources.files("synth.recipes").joinpath(f"{file or DEFAULT_VERSIONS[name]}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    verify = data.get("verify") or {}
    return Recipe(
        name=name,
        version=str(data["version"]),
        kind=str(data["kind"]),
        system=str(data["system"]).strip(),
        user=str(data["user"]),
        sampling=_sampling(data.get("sampling")),
        json_schema=data.get("json_schema"),
        verify_system=str(verify.get("system", "")).strip(),
        verify_user=str(verify.get("user", "")),
        verify_sampling=_sampling(verify.get("sampling")),
    )


def derive_seed(*parts: object) -> int:
    """A stable 31-bit RNG seed from the run seed and the item's identity (the same on every worker and run)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF
