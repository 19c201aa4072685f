"""RegMix maths: seeded Dirichlet candidates, ridge regression, predicted best mixture, Spearman rank correlation."""

from __future__ import annotations

import numpy as np
import pytest

from curation.regmix import (
    Ridge,
    candidates,
    design,
    dirichlet_samples,
    loo_predictions,
    predicted_best,
    ranks,
    select_regression,
    spearman,
)

BASE = {"stem": 0.4, "code": 0.3, "other": 0.3}


def test_candidates_are_seeded_dirichlet_samples_around_the_base():
    cands = candidates(BASE, 6, 20.0, seed=3)
    assert cands[0] == pytest.approx(BASE) and len(cands) == 6
    assert cands == candidates(BASE, 6, 20.0, seed=3)
    assert cands[1:] != candidates(BASE, 6, 20.0, seed=4)[1:]
    for c in cands:
        assert sum(c.values()) == pytest.approx(1.0) and min(c.values()) >= 0
    tight = np.array([[m[k] for k in sorted(BASE)] for m in dirichlet_samples(BASE, 2000, 500.0, 0)])
    loose = np.array([[m[k] for k in sorted(BASE)] for m in dirichlet_samples(BASE, 2000, 5.0, 0)])
    assert tight.mean(axis=0) == pytest.approx([BASE[k] for k in sorted(BASE)], abs=0.01)
    assert tight.std(axis=0).max() < loose.std(axis=0).min()
    with pytest.raises(ValueError):
        candidates(BASE, 1, 20.0, 0)


def test_ridge_recovers_a_linear_response_and_finds_its_minimum():
    truth = {"stem": 1.0, "code": 2.0, "other": 3.0}  # loss falls as stem's weight grows
    mixes = dirichlet_samples(BASE, 30, 10.0, seed=1)
    y = [5 + sum(truth[k] * m[k] for k in m) for m in mixes]
    model = Ridge.fit(mixes, y, lam=1e-9)
    assert model.predict(mixes) == pytest.approx(y, abs=1e-6)
    assert loo_predictions(mixes, y, lam=1e-9) == pytest.approx(y, abs=1e-5)
    best = predicted_best(model, BASE, 10.0, seed=1)
    assert best["stem"] > BASE["stem"] and best["other"] < BASE["other"]
    assert float(model.predict([best])[0]) < float(model.predict([BASE])[0])


def test_spearman_and_ranks():
    assert list(ranks([3.0, 1.0, 2.0, 2.0])) == [4.0, 1.0, 2.5, 2.5]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        spearman([1], [1])


def test_select_regression_prefers_features_that_fit_a_curved_response_by_leave_one_out():
    # Diminishing returns: loss = 4 - Σ 0.3·log(w). Its optimum is interior (equal weights), which a model linear in
    # the weights cannot represent; log features can, and leave-one-out error says so.
    mixes = dirichlet_samples(BASE, 16, 8.0, seed=2)
    y = [4 - sum(0.3 * np.log(m[k] + 1e-3) for k in m) for m in mixes]
    sel = select_regression(mixes, y)
    by = {(r["features"], r["lam"]): r for r in sel.table}
    assert sel.features == "log" and by[("log", sel.lam)]["loo_mse"] <= min(r["loo_mse"] for r in sel.table)
    assert min(r["loo_mse"] for r in sel.table if r["features"] == "linear") > by[("log", sel.lam)]["loo_mse"]
    assert spearman(sel.loo, y) > 0.9 and len(sel.loo) == len(y)
    model = Ridge.fit(mixes, y, sel.lam, sel.features)
    best = predicted_best(model, BASE, 8.0, seed=2)
    assert max(best.values()) - min(best.values()) < max(BASE.values()) - min(BASE.values())  # towards equal
    with pytest.raises(ValueError):
        design(mixes, sorted(BASE), "cubic")
