"""Instance-level mixture recipes: which documents a pretraining stage takes, and how many copies of each.

Stages (Qwen3-style, `DEFAULT_RECIPES`): S1 general text at 4K sequence length, S2 knowledge-intensive (STEM / code /
high education value up-weighted) at 4K, S3 long context at 32K where 75% of the tokens come from documents of
16K–32K tokens and 25% from 4K–16K, the source mix of the eligible pool kept.

The weight formula. Each eligible document ``d`` gets an instance weight from its labels::

    w(d) = m_edu · m_domain · m_lang · m_source · m_length · m_dup · m_safety
    m_edu     = exp(edu_beta · (edu − edu_pivot))        edu: annotator score 0–5 (missing: edu_missing, else pivot)
    m_domain  = domain[group]   m_lang = lang[lang]   m_source = source[source]      (config tables, default 1)
    m_length  = min(1, n_tokens / length_pivot) ** length_gamma                     (short documents down-weighted)
    m_dup     = min(cluster_size, dup_cap) ** dup_alpha                              (dedup cluster it stood for)
    m_safety  = 0 if p_unsafe >= safety_max else (1 − p_unsafe) ** safety_gamma

and its expected number of copies (epochs) is ``r(d) = min(max_epochs, alpha[cell(d)] · w(d))``. A cell is the
document's value on every *balanced* dimension of the recipe (``lang``, ``domain``, ``source``, ``length``), and
``alpha`` is solved per cell so that the cell receives its target tokens:

* each balanced dimension has target shares: ``natural`` (the weighted tokens' own shares), ``weights`` (given
  shares, e.g. domain group weights or S3's length-bucket shares), ``temperature`` (``p_v ∝ N_v ** (1/T)`` over raw
  tokens ``N_v``) or ``unimax`` (a uniform budget per value, capped at ``max_epochs`` × its tokens, the surplus
  re-spread — Chung et al. 2023);
* cell targets are fitted to all dimensions' targets at once by iterative proportional fitting, starting from the
  weighted token matrix (so what the recipe does not balance keeps its natural joint structure: S3 keeps the source
  mix inside each length bucket);
* ``alpha`` solves ``Σ_d min(max_epochs, alpha · w(d)) · t(d) = target`` on a log-binned histogram of the cell's
  weights (water filling). A budget larger than the tokens available upsamples to the epoch cap and reports the
  shortfall.

Copies are ``floor(r) + [u < frac(r)]`` with ``u`` a uniform from ``hash(recipe seed, recipe, id)``: every document is
decided on its own, identically on any worker and in any run. The only corpus-wide state is the per-cell weight
histogram (a few hundred numbers per recipe), summed with a combiner and handed to workers as a side input. Token and
weight sums are integers (weights in fixed point), so the plan, and every manifest built from it, is byte-identical
across runs and runners whatever order the partial sums are merged in.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curation.tokens import QwenTokenCounter

DIMENSIONS = ("lang", "domain", "source", "length")
BALANCE_METHODS = ("natural", "weights", "temperature", "unimax")
WEIGHT_SCALE = 1 << 20  # fixed point for weighted token sums: integer sums are exact in any merge order
BINS_PER_OCTAVE = 4  # weight histogram resolution for the water-filling solve
UNKNOWN = "und"
REPORT_LENGTH_BUCKETS = ((0, 512, "<512"), (512, 2048, "512-2k"), (2048, 4096, "2k-4k"), (4096, 16384, "4k-16k"),
                         (16384, 32768, "16k-32k"), (32768, 1 << 62, ">32k"))  # fmt: skip


@dataclass(frozen=True)
class LengthBucket:
    """Documents with ``min_tokens <= n_tokens <= max_tokens``; ``share`` is its target share of the stage's tokens."""

    name: str
    min_tokens: int
    max_tokens: int
    share: float

    def __post_init__(self) -> None:
        if not 0 <= self.min_tokens <= self.max_tokens:
            raise ValueError(f"bucket {self.name}: need 0 <= min_tokens <= max_tokens")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"bucket {self.name}: share must be in [0, 1], got {self.share}")


@dataclass(frozen=True)
class WeightSpec:
    """Parameters of the instance weight formula (module docstring). Defaults give every document weight 1."""

    edu_beta: float = 0.0
    edu_pivot: float = 2.5
    edu_missing: float | None = None
    domain: Mapping[str, float] = field(default_factory=dict)
    lang: Mapping[str, float] = field(default_factory=dict)
    source: Mapping[str, float] = field(default_factory=dict)
    length_pivot: int = 1
    length_gamma: float = 0.0
    dup_alpha: float = 0.0
    dup_cap: int = 100
    safety_max: float = 1.01
    safety_gamma: float = 0.0

    def __post_init__(self) -> None:
        if self.length_pivot < 1 or self.dup_cap < 1:
            raise ValueError("weights: length_pivot and dup_cap must be >= 1")
        for name in ("domain", "lang", "source"):
            if any(v < 0 for v in getattr(self, name).values()):
                raise ValueError(f"weights.{name}: multipliers must be >= 0")


@dataclass(frozen=True)
class Balance:
    """Target shares along one dimension (see the module docstring for the methods)."""

    method: str = "natural"
    weights: Mapping[str, float] = field(default_factory=dict)
    temperature: float = 1.0
    max_epochs: float = 4.0

    def __post_init__(self) -> None:
        if self.method not in BALANCE_METHODS:
            raise ValueError(f"balance method {self.method!r} not in {BALANCE_METHODS}")
        if self.temperature <= 0 or self.max_epochs <= 0:
            raise ValueError("balance: temperature and max_epochs must be > 0")
        if any(v < 0 for v in self.weights.values()):
            raise ValueError("balance weights must be >= 0")


@dataclass(frozen=True)
class Recipe:
    """One pretraining stage: eligibility, instance weights, balanced dimensions, token budget and epoch cap.

    ``budget_tokens`` is absolute (the same recipe runs on the sample and on 36T tokens); None means the eligible
    tokens once. ``buckets`` define the ``length`` dimension; with shares they balance it (S3). Long documents: with
    ``chunk_long_docs`` a document longer than ``seq_len`` becomes consecutive pieces of at most ``seq_len`` tokens
    cut at paragraph / line / sentence boundaries; without it (S3) it becomes at most ``max_windows`` windows from its
    start, keeping only windows in the document's own bucket, so one huge document cannot dominate the stage.
    """

    name: str
    seq_len: int
    budget_tokens: int | None = None
    seed: int = 0
    max_epochs: float = 4.0
    min_tokens: int = 0
    min_edu_score: float | None = None
    domains: tuple[str, ...] = ()
    weights: WeightSpec = field(default_factory=WeightSpec)
    balance: Mapping[str, Balance] = field(default_factory=dict)
    buckets: tuple[LengthBucket, ...] = ()
    chunk_long_docs: bool = True
    max_windows: int = 4
    # The name the copy draws hash (default: ``name``). Recipes sharing one draw the same uniform per document
    # (common random numbers): the ablation's candidates then differ by their rates, not by which documents the
    # dice picked. Left out of ``to_json`` when unset, so existing recipe ids are unchanged.
    draw_name: str | None = None
    # Source files (``meta["code_language"]``) enter only under these SPDX licences (``MIT OR Apache-2.0`` needs
    # one of them listed, ``MIT AND BSD-3-Clause`` both; a file without a detected licence does not enter); empty:
    # any file. Other documents are not affected. Left out of ``to_json`` when empty: existing recipe ids unchanged.
    code_licenses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.seq_len < 1 or self.max_windows < 1:
            raise ValueError(f"recipe {self.name}: seq_len and max_windows must be >= 1")
        if self.max_epochs <= 0:
            raise ValueError(f"recipe {self.name}: max_epochs must be > 0")
        if self.budget_tokens is not None and self.budget_tokens < 0:
            raise ValueError(f"recipe {self.name}: budget_tokens must be >= 0")
        unknown = set(self.balance) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"recipe {self.name}: unknown balance dimension(s) {sorted(unknown)}; known {DIMENSIONS}")
        if self.buckets:
            names = [b.name for b in self.buckets]
            if len(set(names)) != len(names):
                raise ValueError(f"recipe {self.name}: duplicate bucket names {names}")
            if any(b.max_tokens > self.seq_len for b in self.buckets):
                raise ValueError(f"recipe {self.name}: a bucket reaches beyond seq_len {self.seq_len}")
            if not math.isclose(sum(b.share for b in self.buckets), 1.0, abs_tol=1e-6):
                raise ValueError(f"recipe {self.name}: bucket shares must sum to 1")
        elif "length" in self.balance:
            raise ValueError(f"recipe {self.name}: balancing length needs buckets")

    @property
    def balanced(self) -> dict[str, Balance]:
        """The balanced dimensions; a bucketed recipe balances ``length`` by its bucket shares."""
        out = dict(self.balance)
        if self.buckets and "length" not in out:
            out["length"] = Balance("weights", {b.name: b.share for b in self.buckets})
        return {dim: out[dim] for dim in DIMENSIONS if dim in out}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data["weights"].items()}
        data["balance"] = {d: {**asdict(b), "weights": dict(b.weights)} for d, b in self.balance.items()}
        if data["draw_name"] is None:
            del data["draw_name"]
        if not data["code_licenses"]:
            del data["code_licenses"]
        return json.loads(json.dumps(data, sort_keys=True))

    @property
    def recipe_id(self) -> str:
        """``name-<8 hex>`` of the canonical recipe: the id a shard row carries, changing with any recipe key."""
        digest = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.name}-{digest}"


S3_BUCKETS = (
    LengthBucket("4k-16k", 4096, 16384, 0.25),
    LengthBucket("16k-32k", 16384, 32768, 0.75),
)

DEFAULT_RECIPES: tuple[Recipe, ...] = (
    Recipe("S1", seq_len=4096, balance={"lang": Balance("temperature", temperature=3.0)}),
    Recipe(
        "S2",
        seq_len=4096,
        min_edu_score=2.5,
        weights=WeightSpec(edu_beta=0.7),
        balance={"domain": Balance("weights", {"stem": 0.4, "code": 0.3, "other": 0.25, UNKNOWN: 0.05})},
    ),
    Recipe(
        "S3",
        seq_len=32768,
        min_tokens=4096,
        buckets=S3_BUCKETS,
        chunk_long_docs=False,
        balance={"source": Balance("natural")},
    ),
)

_RECIPE_FIELDS = {f.name for f in fields(Recipe)}
_WEIGHT_FIELDS = {f.name for f in fields(WeightSpec)}
_BALANCE_FIELDS = {f.name for f in fields(Balance)}


def _check_keys(entry: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = set(entry) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known {sorted(known)}")


def balance_from_config(entry: Mapping[str, Any] | str) -> Balance:
    if isinstance(entry, str):
        return Balance(entry)
    _check_keys(entry, _BALANCE_FIELDS, "balance")
    return Balance(**{**entry, "weights": {str(k): float(v) for k, v in (entry.get("weights") or {}).items()}})


def recipe_from_config(entry: Mapping[str, Any], base: Recipe | None = None) -> Recipe:
    """A recipe from a config mapping (keys of `Recipe`; ``weights`` / ``balance`` / ``buckets`` nested).

    With ``base`` (the default recipe of the same name) only the given keys change; ``weights`` merge key by key,
    ``balance`` replaces per dimension (``balance: {lang: null}`` removes one).
    """
    _check_keys(entry, _RECIPE_FIELDS, f"recipe {entry.get('name')!r}")
    if "name" not in entry:
        raise ValueError("recipe config: every recipe needs a name")
    values: dict[str, Any] = {f: getattr(base, f) for f in _RECIPE_FIELDS} if base else {}
    for key, value in entry.items():
        if key == "weights":
            _check_keys(value or {}, _WEIGHT_FIELDS, f"recipe {entry['name']}.weights")
            merged = {**(asdict(values["weights"]) if "weights" in values else {}), **(value or {})}
            values["weights"] = WeightSpec(**merged)
        elif key == "balance":
            balance = dict(values.get("balance") or {})
            for dim, spec in (value or {}).items():
                if spec is None:
                    balance.pop(dim, None)
                else:
                    balance[dim] = balance_from_config(spec)
            values["balance"] = balance
        elif key == "buckets":
            values["buckets"] = tuple(b if isinstance(b, LengthBucket) else LengthBucket(**b) for b in value or ())
        elif key in ("domains", "code_licenses"):
            values[key] = tuple(value or ())
        elif key == "budget_tokens":
            values[key] = None if value is None else int(float(value))  # 36e12 in YAML is a float
        else:
            values[key] = value
    if "seq_len" not in values:
        raise ValueError(f"recipe {entry['name']}: seq_len is required for a recipe without defaults")
    return Recipe(**values)


def recipes_from_config(
    cfg: Mapping[str, Mapping[str, Any] | None] | Iterable[Mapping[str, Any]], seed: int = 0
) -> tuple[Recipe, ...]:
    """Recipes from ``mix.stages``: a mapping name -> keys (``None`` drops a stage) or a list of entries with names.

    An entry named like a built-in default (S1/S2/S3) overrides only the keys it gives. ``seed`` (``mix.seed``) is
    the recipe seed unless a recipe sets its own.
    """
    if isinstance(cfg, Mapping):
        cfg = [{**(entry or {}), "name": name} for name, entry in cfg.items() if entry is not None]
    defaults = {r.name: r for r in DEFAULT_RECIPES}
    recipes = []
    for entry in cfg:
        entry = dict(entry)
        entry.setdefault("seed", seed)
        recipes.append(recipe_from_config(entry, defaults.get(entry.get("name"))))
    names = [r.name for r in recipes]
    if len(set(names)) != len(names):
        raise ValueError(f"recipe config: duplicate recipe names {names}")
    return tuple(recipes)


# ---------------------------------------------------------------------------------------------------------------
# Per-document features, eligibility and weights


def _meta_value(meta: Any, key: str) -> str | None:
    """Read a map column whether it is a dict or (as pyarrow returns maps) a list of key/value pairs."""
    if isinstance(meta, Mapping):
        return meta.get(key)
    for k, v in meta or ():
        if k == key:
            return v
    return None


def doc_domain(doc: Mapping[str, Any]) -> str | None:
    """Domain group of a document: a ``domain`` column (joined annotation) or ``meta["domain"]``."""
    return doc.get("domain") or _meta_value(doc.get("meta"), "domain")


def edu_bucket(score: float | None) -> str:
    """Education score rounded to a point 0–5 (``und`` when unscored): the manifest's education bucket."""
    return UNKNOWN if score is None else str(min(5, max(0, math.floor(score + 0.5))))


def report_length_bucket(n_tokens: int) -> str:
    for lo, hi, name in REPORT_LENGTH_BUCKETS:
        if lo <= n_tokens < hi:
            return name
    return REPORT_LENGTH_BUCKETS[-1][2]


def bucket_of(n_tokens: int, recipe: Recipe) -> str | None:
    """Name of the first bucket (in declared order) with ``min_tokens <= n_tokens <= max_tokens``, else None."""
    for bucket in recipe.buckets:
        if bucket.min_tokens <= n_tokens <= bucket.max_tokens:
            return bucket.name
    return None


def doc_bucket(n_tokens: int, recipe: Recipe) -> str | None:
    """Bucket a document is sampled in. Unchunked long documents count as their first, full-length window."""
    return bucket_of(n_tokens if recipe.chunk_long_docs else min(n_tokens, recipe.seq_len), recipe)


def _window_kept(n_window: int, n_doc: int, recipe: Recipe) -> bool:
    """Windows of a long document are kept only in the document's own bucket, so they all share its rate."""
    if recipe.buckets:
        return bucket_of(n_window, recipe) == doc_bucket(n_doc, recipe)
    return n_window >= recipe.min_tokens


def stage_tokens(n_tokens: int, recipe: Recipe) -> int:
    """Tokens one copy of a document contributes to a stage (for the plan).

    Exact unless a windowed stage cuts the document: then full ``seq_len`` windows plus the remainder are assumed
    (real windows end at a paragraph or sentence, up to 20% shorter), keeping only what `instance_rows` would keep.
    """
    if recipe.chunk_long_docs or n_tokens <= recipe.seq_len:
        return n_tokens
    full, tail = divmod(n_tokens, recipe.seq_len)
    windows = [recipe.seq_len] * min(full, recipe.max_windows) + [tail]
    return sum([w for w in windows if _window_kept(w, n_tokens, recipe)][: recipe.max_windows])


def eligible(doc: Mapping[str, Any], recipe: Recipe) -> bool:
    """Whether a document may enter the stage: long enough, edu score and domain conditions met, inside a bucket."""
    n_tokens = doc.get("n_tokens")
    if n_tokens is None:
        raise ValueError(f"document {doc.get('id')!r} has no n_tokens; count tokens first")
    if n_tokens <= 0 or n_tokens < recipe.min_tokens:
        return False
    if recipe.min_edu_score is not None:
        score = doc.get("edu_score")
        if score is None or score < recipe.min_edu_score:
            return False
    if recipe.domains and doc_domain(doc) not in recipe.domains:
        return False
    if recipe.code_licenses and not code_license_allowed(doc, recipe.code_licenses):
        return False
    return not recipe.buckets or doc_bucket(n_tokens, recipe) is not None


def code_license_allowed(doc: Mapping[str, Any], allowed: Sequence[str]) -> bool:
    """A document that is not a source file, or a source file whose licence names one of ``allowed``."""
    meta = doc.get("meta")
    if not _meta_value(meta, "code_language"):
        return True
    expression = (_meta_value(meta, "license") or "").replace("(", " ").replace(")", " ")
    for choice in re.split(r"\s+OR\s+", expression.strip()):  # one of the alternatives, all of its AND terms
        terms = [re.split(r"\s+WITH\s+", t.strip())[0] for t in re.split(r"\s+AND\s+", choice) if t.strip()]
        if terms and all(t in allowed for t in terms):
            return True
    return False


def instance_weight(doc: Mapping[str, Any], spec: WeightSpec) -> float:
    """The instance weight ``w(d)`` of the module docstring (0 removes the document)."""
    edu = doc.get("edu_score")
    if edu is None:
        edu = spec.edu_missing if spec.edu_missing is not None else spec.edu_pivot
    w = math.exp(spec.edu_beta * (float(edu) - spec.edu_pivot))
    w *= spec.domain.get(doc_domain(doc) or UNKNOWN, 1.0)
    w *= spec.lang.get(doc.get("lang") or UNKNOWN, 1.0)
    w *= spec.source.get(doc.get("source") or UNKNOWN, 1.0)
    if spec.length_gamma:
        w *= min(1.0, doc["n_tokens"] / spec.length_pivot) ** spec.length_gamma
    if spec.dup_alpha:
        w *= min(max(int(doc.get("dedup_cluster_size") or 1), 1), spec.dup_cap) ** spec.dup_alpha
    unsafe = doc.get("safety_score")
    if unsafe is not None:
        if unsafe >= spec.safety_max:
            return 0.0
        w *= (1.0 - min(max(float(unsafe), 0.0), 1.0)) ** spec.safety_gamma
    return w


def dimension_value(doc: Mapping[str, Any], dim: str, recipe: Recipe) -> str:
    if dim == "lang":
        return doc.get("lang") or UNKNOWN
    if dim == "domain":
        return doc_domain(doc) or UNKNOWN
    if dim == "source":
        return doc.get("source") or UNKNOWN
    return doc_bucket(doc["n_tokens"], recipe) or UNKNOWN


def cell_of(doc: Mapping[str, Any], recipe: Recipe) -> str:
    """The document's cell: ``dim=value`` over the balanced dimensions, joined by ``|`` (``*`` when none)."""
    parts = [f"{dim}={dimension_value(doc, dim, recipe)}" for dim in recipe.balanced]
    return "|".join(parts) or "*"


def _cell_values(cell: str) -> dict[str, str]:
    return {} if cell == "*" else dict(part.split("=", 1) for part in cell.split("|"))


def weight_bin(w: float) -> int:
    return math.floor(math.log2(w) * BINS_PER_OCTAVE)


def fixed_point(w: float) -> int:
    return max(1, round(w * WEIGHT_SCALE))


# ---------------------------------------------------------------------------------------------------------------
# Profiles (what the combiner sums) and the plan (what workers receive)


def profile_item(doc: Mapping[str, Any], recipe: Recipe) -> tuple[str, dict[str, Any]] | None:
    """``(cell, profile)`` of one eligible document with a positive weight, else None: the combiner's input."""
    if not eligible(doc, recipe):
        return None
    w = instance_weight(doc, recipe.weights)
    if w <= 0:
        return None
    t = stage_tokens(doc["n_tokens"], recipe)
    if t <= 0:
        return None
    wq = fixed_point(w)
    text_bytes = doc["text_bytes"] if doc.get("text_bytes") is not None else len((doc.get("text") or "").encode())
    n_bytes = round(text_bytes * t / doc["n_tokens"]) if text_bytes else 0
    return cell_of(doc, recipe), {
        "docs": 1,
        "tokens": t,
        "wtokens": wq * t,
        "bytes": n_bytes,
        "bins": {weight_bin(w): [t, wq * t]},
    }


def profile_merge(into: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    """Add one profile to another in place (integers only: exact in any order)."""
    for key in ("docs", "tokens", "wtokens", "bytes"):
        into[key] = into.get(key, 0) + part[key]
    bins = into.setdefault("bins", {})
    for b, (t, wt) in part["bins"].items():
        acc = bins.setdefault(b, [0, 0])
        acc[0] += t
        acc[1] += wt
    return into


def _shares(balance: Balance, raw: Mapping[str, int], weighted: Mapping[str, float], budget: float) -> dict[str, float]:
    """Target shares of a dimension's values present in the data (summing to 1)."""
    present = [v for v in sorted(raw) if raw[v] > 0]
    if not present:
        return {}
    if balance.method == "natural":
        base = {v: float(weighted[v]) for v in present}
    elif balance.method == "weights":
        base = {v: balance.weights.get(v, balance.weights.get("*", 0.0)) for v in present}
    elif balance.method == "temperature":
        base = {v: float(raw[v]) ** (1.0 / balance.temperature) for v in present}
    else:  # unimax: uniform budget per value, each capped at max_epochs x its tokens, the rest re-spread
        base, left = {}, float(budget)
        order = sorted(present, key=lambda v: (raw[v], v))
        for i, v in enumerate(order):
            base[v] = min(left / (len(order) - i), balance.max_epochs * raw[v])
            left -= base[v]
    total = sum(base.values())
    if total <= 0:
        return dict.fromkeys(present, 0.0)
    return {v: base[v] / total for v in present}


def _ipf(start: dict[str, float], cells: dict[str, dict[str, str]], targets: dict[str, dict[str, float]]):
    """Iterative proportional fitting of cell masses to the target marginals of every balanced dimension."""
    m = {c: v for c, v in start.items() if v > 0}
    for _ in range(200):
        worst = 0.0
        for dim, shares in targets.items():
            sums: dict[str, float] = {}
            for c, v in m.items():
                sums[cells[c][dim]] = sums.get(cells[c][dim], 0.0) + v
            for c in m:
                value = cells[c][dim]
                want = shares.get(value, 0.0)
                have = sums[value]
                m[c] = m[c] * want / have if have > 0 else 0.0
                worst = max(worst, abs(have - want))
        if worst < 1e-12:
            break
    return m


def _water_fill(bins: Mapping[int, list[int]], target: float, cap: float) -> tuple[float, float]:
    """``alpha`` with ``Σ_bins min(cap, alpha · w_b) · t_b ≈ target`` and the tokens it yields (w_b: bin mean)."""
    items = [(wt / t / WEIGHT_SCALE, t) for t, wt in bins.values() if t > 0]
    if not items or target <= 0:
        return 0.0, 0.0

    def taken(alpha: float) -> float:
        return sum(min(cap, alpha * w) * t for w, t in items)

    hi = cap / min(w for w, _ in items)
    if taken(hi) <= target:
        return hi, taken(hi)
    lo = 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if taken(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi, taken(hi)


def _round(x: float) -> float:
    return float(f"{x:.9g}")


def make_plan(recipe: Recipe, profiles: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The recipe's plan from its per-cell profiles: budget, cell targets, ``alpha`` per cell, expected tokens.

    Pure and deterministic (sorted iteration, rounded floats) so that a manifest embedding it is byte-stable.
    """
    cells = {c: _cell_values(c) for c in sorted(profiles)}
    raw_tokens = sum(p["tokens"] for p in profiles.values())
    budget = float(raw_tokens if recipe.budget_tokens is None else recipe.budget_tokens)
    weighted = {c: profiles[c]["wtokens"] / WEIGHT_SCALE for c in cells}
    targets: dict[str, dict[str, float]] = {}
    for dim, balance in recipe.balanced.items():
        raw: dict[str, int] = {}
        wsum: dict[str, float] = {}
        for c, values in cells.items():
            raw[values[dim]] = raw.get(values[dim], 0) + profiles[c]["tokens"]
            wsum[values[dim]] = wsum.get(values[dim], 0.0) + weighted[c]
        targets[dim] = _shares(balance, raw, wsum, budget)
    total_w = sum(weighted.values())
    start = {c: w / total_w for c, w in weighted.items()} if total_w > 0 else {}
    fitted = _ipf(start, cells, targets) if targets else start
    plan_cells = {}
    expected = 0.0
    for c in cells:
        target = budget * fitted.get(c, 0.0)
        alpha, got = _water_fill(profiles[c]["bins"], target, recipe.max_epochs)
        expected += got
        tokens = profiles[c]["tokens"]
        plan_cells[c] = {
            "alpha": _round(alpha),
            "docs": profiles[c]["docs"],
            "tokens": tokens,
            "target_tokens": round(target),
            "expected_tokens": round(got),
            "expected_bytes": round(profiles[c]["bytes"] * got / tokens) if tokens else 0,
        }
    return {
        "recipe": recipe.name,
        "recipe_id": recipe.recipe_id,
        "budget_tokens": round(budget),
        "eligible_docs": sum(p["docs"] for p in profiles.values()),
        "eligible_tokens": raw_tokens,
        "expected_tokens": round(expected),
        "shortfall_tokens": max(0, round(budget - expected)),
        "target_shares": {d: {v: _round(s) for v, s in sorted(t.items())} for d, t in targets.items()},
        "cells": plan_cells,
    }


def expected_copies(doc: Mapping[str, Any], recipe: Recipe, plan: Mapping[str, Any]) -> float:
    """``r(d) = min(max_epochs, alpha[cell] · w(d))`` (0 when not eligible or not in the plan)."""
    if not eligible(doc, recipe):
        return 0.0
    cell = plan["cells"].get(cell_of(doc, recipe))
    if cell is None:
        return 0.0
    w = instance_weight(doc, recipe.weights)
    return min(recipe.max_epochs, cell["alpha"] * fixed_point(w) / WEIGHT_SCALE) if w > 0 else 0.0


def unit_hash(*parts: object) -> float:
    """A stable uniform number in [0, 1) from the parts: the same on every worker, in every run."""
    return hash64(*parts) / 2.0**64


def hash64(*parts: object) -> int:
    key = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def n_copies(doc_id: str, rate: float, seed: int, recipe_name: str, max_epochs: float) -> int:
    """``floor(r) + [u < frac(r)]`` with ``u = hash(seed, recipe, id)``, ``r`` capped at ``max_epochs``."""
    rate = min(max(rate, 0.0), max_epochs)
    whole = math.floor(rate)
    return whole + (1 if unit_hash(seed, recipe_name, doc_id) < rate - whole else 0)


def _pieces(doc: Mapping[str, Any], recipe: Recipe, counter: QwenTokenCounter) -> list[tuple[str, int]]:
    text, n_tokens = doc["text"], doc["n_tokens"]
    if n_tokens <= recipe.seq_len:
        return [(text, n_tokens)]
    pieces = counter.chunk(text, recipe.seq_len, recipe.min_tokens)
    if recipe.chunk_long_docs:
        return pieces
    return [p for p in pieces if _window_kept(p[1], n_tokens, recipe)][: recipe.max_windows]


def instance_rows(
    doc: Mapping[str, Any], recipe: Recipe, plan: Mapping[str, Any], counter: QwenTokenCounter
) -> list[dict[str, Any]]:
    """ShardRow dicts for one document in one recipe (empty when it is not eligible or not drawn).

    Each copy repeats every piece of the document; ids are ``f"{doc_id}/{stage}/{chunk}/{copy}"``. Every row has a
    ``shuffle_key`` from ``hash(seed, recipe, id, chunk, copy)``: shards are written in that order.
    """
    rate = expected_copies(doc, recipe, plan)
    copies = n_copies(doc["id"], rate, recipe.seed, recipe.draw_name or recipe.name, recipe.max_epochs)
    if not copies:
        return []
    edu = doc.get("edu_score")
    unsafe = doc.get("safety_score")
    pieces = _pieces(doc, recipe, counter)
    common = {
        "doc_id": doc["id"],
        "stage": recipe.name,
        "recipe_id": plan["recipe_id"],
        "lang": doc.get("lang"),
        "source": doc["source"],
        "domain": doc_domain(doc),
        "edu_score": None if edu is None else float(edu),
        "safety_score": None if unsafe is None else float(unsafe),
        "dedup_cluster_size": doc.get("dedup_cluster_size"),
        "weight": _round(rate),
        "provenance": doc.get("provenance"),  # synthetic documents: how they were generated (pipelines.mix)
    }
    return [
        {
            "id": f"{doc['id']}/{recipe.name}/{chunk}/{copy}",
            "text": text,
            "n_tokens": n_tokens,
            "chunk_index": chunk,
            "copy_index": copy,
            "length_bucket": bucket_of(n_tokens, recipe) if recipe.buckets else report_length_bucket(n_tokens),
            "shuffle_key": hash64(recipe.seed, recipe.name, doc["id"], chunk, copy),
            **common,
        }
        for copy in range(copies)
        for chunk, (text, n_tokens) in enumerate(pieces)
    ]


def with_targets(recipe: Recipe, dim: str, weights: Mapping[str, float], **changes: Any) -> Recipe:
    """The recipe with ``dim`` balanced to the given shares (the ablation's candidates), other keys changed too."""
    balance = {**recipe.balance, dim: Balance("weights", dict(weights))}
    return replace(recipe, balance=balance, **changes)


# ---------------------------------------------------------------------------------------------------------------
# Stage composition: per-shard statistics, summed into the stage manifest

BREAKDOWNS = ("lang", "domain", "edu", "source", "length")


def row_breakdown_keys(row: Mapping[str, Any]) -> dict[str, str]:
    return {
        "lang": row.get("lang") or UNKNOWN,
        "domain": row.get("domain") or UNKNOWN,
        "edu": edu_bucket(row.get("edu_score")),
        "source": row.get("source") or UNKNOWN,
        "length": row.get("length_bucket") or UNKNOWN,
    }


def composition_add(acc: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """Add one shard row to a composition (rows, tokens, upsampled rows, tokens by each breakdown)."""
    acc["rows"] = acc.get("rows", 0) + 1
    acc["tokens"] = acc.get("tokens", 0) + row["n_tokens"]
    acc["upsampled_rows"] = acc.get("upsampled_rows", 0) + (1 if row["copy_index"] > 0 else 0)
    by = acc.setdefault("tokens_by", {b: {} for b in BREAKDOWNS})
    for name, key in row_breakdown_keys(row).items():
        by[name][key] = by[name].get(key, 0) + row["n_tokens"]
    return acc


def composition_merge(accs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": 0, "tokens": 0, "upsampled_rows": 0, "tokens_by": {b: {} for b in BREAKDOWNS}}
    for acc in accs:
        for key in ("rows", "tokens", "upsampled_rows"):
            out[key] += acc.get(key, 0)
        for name, table in acc.get("tokens_by", {}).items():
            for k, v in table.items():
                out["tokens_by"][name][k] = out["tokens_by"][name].get(k, 0) + v
    out["tokens_by"] = {n: dict(sorted(t.items())) for n, t in out["tokens_by"].items()}
    return out


def is_heldout(doc_id: str, share: float, seed: int = 0) -> bool:
    """Whether a document belongs to the held-out evaluation split (by hash: the same in every run and recipe)."""
    return share > 0 and unit_hash("heldout", seed, doc_id) < share
