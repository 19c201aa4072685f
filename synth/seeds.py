"""Which curated documents seed which recipes: high educational value, STEM or code topics.

Labels come from the annotate outputs (``annotations/edu``: ``score`` 0-5; ``annotations/domain``: ``label`` mapped
to a mixture group by the caller). A document without a usable label is handled by ``on_missing``: ``accept`` (the
label's test is skipped; the decision says so, and the pipeline counts it) or ``reject``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeedSettings:
    min_edu_score: float = 2.5
    domains: tuple[str, ...] = ("stem", "code")
    on_missing: str = "accept"  # accept | reject
    max_chars: int = 1500  # of the seed document the recipe prompt quotes

    def __post_init__(self) -> None:
        if self.on_missing not in ("accept", "reject"):
            raise ValueError("synth.seeds.on_missing: accept | reject")

    @classmethod
    def from_mapping(cls, cfg: Mapping | None) -> SeedSettings:
        cfg = dict(cfg or {})
        if "domains" in cfg:
            cfg["domains"] = tuple(cfg["domains"] or ())
        return cls(**{k: v for k, v in cfg.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SeedDecision:
    selected: bool
    reason: str  # selected | low_edu | other_domain | no_edu_label | no_domain_label | fallback_no_edu ...
    group: str | None  # the seed's domain group, None when unlabelled


def decide_seed(edu_score: float | None, domain_group: str | None, settings: SeedSettings) -> SeedDecision:
    """Apply the edu threshold and the domain filter; missing labels follow ``settings.on_missing``."""
    fallbacks = []
    if edu_score is None:
        if settings.on_missing == "reject":
            return SeedDecision(False, "no_edu_label", domain_group)
        fallbacks.append("no_edu")
    elif edu_score < settings.min_edu_score:
        return SeedDecision(False, "low_edu", domain_group)
    if domain_group is None:
        if settings.on_missing == "reject":
            return SeedDecision(False, "no_domain_label", None)
        fallbacks.append("no_domain")
    elif settings.domains and domain_group not in settings.domains:
        return SeedDecision(False, "other_domain", domain_group)
    return SeedDecision(True, "fallback_" + "+".join(fallbacks) if fallbacks else "selected", domain_group)


def recipes_for(group: str | None, recipe_domains: Mapping[str, Sequence[str]]) -> list[str]:
    """Recipes whose domain list includes the seed's group; an unlabelled seed feeds every recipe."""
    return [name for name, domains in recipe_domains.items() if group is None or not domains or group in domains]
