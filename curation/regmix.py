"""RegMix-style mixture search: candidate recipes around a base, a regression from recipe weights to proxy loss, and
the predicted best mixture (Liu et al. 2024, "RegMix: Data Mixture as Regression for Language Model Pre-training").

Candidates are Dirichlet samples ``Dir(concentration · base)`` around the base recipe's group weights (the base
itself is candidate 0). Each is trained as a small proxy model and evaluated on held-out target sets; a ridge
regression ``loss ≈ b + Σ_g c_g · weight_g`` (optionally plus log-weights or pairwise products, chosen by
leave-one-out error) is fitted on the candidates, evaluated on many more Dirichlet samples,
and the mean of the best ``top`` predicted mixtures is the predicted best (averaging, as RegMix does, is steadier
than the single argmin of a noisy fit). numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-3  # floor of a Dirichlet parameter: a group with base weight 0 can still be explored a little


def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"weights must have a positive sum, got {dict(weights)}")
    return {k: v / total for k, v in sorted(weights.items())}


def dirichlet_samples(base: Mapping[str, float], n: int, concentration: float, seed: int) -> list[dict[str, float]]:
    """``n`` mixtures from ``Dir(concentration · base + EPS)``, seeded (keys in sorted order)."""
    base = normalise(base)
    keys = list(base)
    alpha = np.array([concentration * base[k] + EPS for k in keys])
    draws = np.random.default_rng(seed).dirichlet(alpha, size=n)
    return [{k: float(v) for k, v in zip(keys, row, strict=True)} for row in draws]


def candidates(base: Mapping[str, float], k: int, concentration: float, seed: int) -> list[dict[str, float]]:
    """The base (normalised) followed by ``k - 1`` Dirichlet samples around it."""
    if k < 2:
        raise ValueError("need k >= 2 candidates to fit a regression")
    return [normalise(base), *dirichlet_samples(base, k - 1, concentration, seed)]


FEATURES = ("linear", "log", "quadratic")
LOG_FLOOR = 1e-3  # log features: log(weight + floor), finite for a group a candidate gave (almost) nothing


def design(mixtures: Sequence[Mapping[str, float]], keys: Sequence[str], features: str = "linear") -> np.ndarray:
    """Regression inputs: the weights (``linear``, RegMix's linear model), plus their logs (``log``: diminishing
    returns of adding more of a group) or plus their pairwise products (``quadratic``: an interior optimum)."""
    x = np.array([[m.get(k, 0.0) for k in keys] for m in mixtures], dtype=float)
    if features == "linear":
        return x
    if features == "log":
        return np.hstack([x, np.log(x + LOG_FLOOR)])
    if features == "quadratic":
        i, j = np.triu_indices(len(keys))
        return np.hstack([x, x[:, i] * x[:, j]])
    raise ValueError(f"regression features: one of {FEATURES}, got {features!r}")


@dataclass(frozen=True)
class Ridge:
    """``y ≈ intercept + design(X) @ coef`` with an L2 penalty on ``coef`` (features standardised, intercept free)."""

    keys: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    features: str = "linear"
    lam: float = 1e-3

    @classmethod
    def fit(
        cls, mixtures: Sequence[Mapping[str, float]], y: Sequence[float], lam: float = 1e-3, features: str = "linear"
    ) -> Ridge:
        keys = tuple(sorted({k for m in mixtures for k in m}))
        x = design(mixtures, keys, features)
        yv = np.asarray(y, dtype=float)
        xm, ym = x.mean(axis=0), yv.mean()
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        xc = (x - xm) / scale  # standardised: one penalty means the same for weights and their logs
        beta = np.linalg.solve(xc.T @ xc + lam * len(yv) * np.eye(x.shape[1]), xc.T @ (yv - ym))
        coef = beta / scale
        return cls(keys, coef, float(ym - xm @ coef), features, lam)

    def predict(self, mixtures: Sequence[Mapping[str, float]]) -> np.ndarray:
        return design(mixtures, self.keys, self.features) @ self.coef + self.intercept


def loo_predictions(
    mixtures: Sequence[Mapping[str, float]], y: Sequence[float], lam: float = 1e-3, features: str = "linear"
) -> list[float]:
    """Leave-one-out predictions: how well the regression predicts a recipe it was not fitted on."""
    out = []
    for i in range(len(mixtures)):
        rest = [m for j, m in enumerate(mixtures) if j != i]
        model = Ridge.fit(rest, [v for j, v in enumerate(y) if j != i], lam, features)
        out.append(float(model.predict([mixtures[i]])[0]))
    return out


@dataclass(frozen=True)
class Selection:
    """The regression chosen by leave-one-out error, and every alternative's LOO error and rank correlation."""

    features: str
    lam: float
    loo: list[float]
    table: list[dict]


def select_regression(
    mixtures: Sequence[Mapping[str, float]],
    y: Sequence[float],
    features: Sequence[str] = FEATURES,
    lams: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0),
) -> Selection:
    """Features and penalty with the lowest leave-one-out mean squared error (the candidates only: the recipes
    trained later to check the predicted best never inform the choice)."""
    table = []
    for feat in features:
        for lam in lams:
            loo = loo_predictions(mixtures, y, lam, feat)
            mse = float(np.mean((np.asarray(loo) - np.asarray(y)) ** 2))
            table.append({"features": feat, "lam": lam, "loo_mse": mse, "loo_spearman": spearman(loo, y), "loo": loo})
    best = min(table, key=lambda r: (r["loo_mse"], FEATURES.index(r["features"]) if r["features"] in FEATURES else 9))
    return Selection(
        best["features"], best["lam"], best["loo"], [{k: v for k, v in r.items() if k != "loo"} for r in table]
    )


def predicted_best(
    model: Ridge, base: Mapping[str, float], concentration: float, seed: int, n_samples: int = 20_000, top: int = 100
) -> dict[str, float]:
    """Mean of the ``top`` mixtures with the lowest predicted loss among Dirichlet samples around the base.

    The search stays in the region the candidates covered (same concentration), where the regression is trusted.
    """
    pool = dirichlet_samples(base, n_samples, concentration, seed + 1)
    pred = model.predict(pool)
    best = np.argsort(pred, kind="stable")[: max(1, min(top, n_samples))]
    keys = list(pool[0])
    mean = np.array([[pool[i][k] for k in keys] for i in best]).mean(axis=0)
    return normalise({k: float(v) for k, v in zip(keys, mean, strict=True)})


def ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n, ties averaged."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(1, len(v) + 1)
    for value in np.unique(v):
        tied = v == value
        r[tied] = r[tied].mean()
    return r


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson correlation of the ranks)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("need two sequences of the same length >= 2")
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0
