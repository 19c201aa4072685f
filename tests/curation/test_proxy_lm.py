"""The byte-level proxy LM: seeded (identical losses on a rerun) and it learns (below the 8 bits/byte of chance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.proxy_lm import ProxyConfig, train_and_evaluate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"
FAQ = (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8")
RU = (FIXTURES / "ls.1.ru.txt").read_text(encoding="utf-8")
TINY = ProxyConfig(d_model=32, n_layers=1, n_heads=2, context=64, batch_size=16, steps=60, lr=3e-3)


def test_proxy_is_seeded_and_learns_what_it_is_trained_on():
    train = [FAQ[:60_000]]
    targets = {"eng": FAQ[100_000:110_000].encode(), "rus": RU.encode()}
    a = train_and_evaluate(train, targets, TINY, seed=0)
    b = train_and_evaluate(train, targets, TINY, seed=0)
    assert a.losses == b.losses and a.parameters == b.parameters
    assert train_and_evaluate(train, targets, TINY, seed=1).losses != a.losses
    assert a.losses["eng"] < 6.0  # chance is 8 bits per byte
    assert a.losses["eng"] < a.losses["rus"]  # trained on English only
    with pytest.raises(ValueError):
        train_and_evaluate([], targets, TINY)
    with pytest.raises(ValueError):
        ProxyConfig.from_mapping({"width": 3})
