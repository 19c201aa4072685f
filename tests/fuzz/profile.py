"""Shared Hypothesis settings and strategies of the fuzz suite.

CI runs every property deterministically (``derandomize``: the same examples on every run, no example database) with
a small budget each, so the whole ``tests/fuzz`` directory stays under a minute. For a longer local hunt:
``FUZZ_SCALE=20 FUZZ_RANDOM=1 pytest tests/fuzz`` (20x the examples, fresh random ones each run).
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")

settings.register_profile(
    "fuzz-ci",
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BASE = settings.get_profile("fuzz-ci")


def fuzz(max_examples: int) -> settings:
    """The suite's settings with a per-property example budget (scaled by ``FUZZ_SCALE``)."""
    return settings(BASE, max_examples=max(1, int(max_examples * SCALE)))


def _real_snippets() -> list[str]:
    """Short pieces of the repo's real texts in many scripts (Latin, Cyrillic, CJK, Korean, Arabic ...)."""
    out: list[str] = []
    for path in sorted((ROOT / "tests" / "fixtures" / "filters").glob("prose.*.txt")):
        words = path.read_text(encoding="utf-8").split()
        out.extend(" ".join(words[i : i + 7]) for i in range(0, min(len(words), 70), 7))
    for name in ("django-messages.ar.txt", "ls.1.zh_CN.txt", "ls.1.ru.txt"):
        lines = (ROOT / "tests" / "fixtures" / "mixture" / name).read_text(encoding="utf-8").splitlines()
        out.extend(line for line in lines[:40] if line.strip())
    return out


SNIPPETS = _real_snippets()

# Valid Unicode (no surrogates: stored text is always encodable), control characters included.
any_text = st.text(max_size=400)
mixed_scripts = st.lists(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=12)), max_size=30).map(
    lambda parts: " ".join(parts)
)
joined = st.lists(st.sampled_from([*SNIPPETS, "\n", "\n\n", "\t", "\r\n", "\x00", "\x0c", "\u200b", "ﬁ", "Ã©"]))
long_repeats = st.tuples(st.text(min_size=1, max_size=6), st.integers(500, 20_000)).map(lambda t: t[0] * t[1])
long_words = st.tuples(st.sampled_from(["a", "日", "ج", "🙂", " ", "\n", "-", "\u0301"]), st.integers(1, 60_000)).map(
    lambda t: t[0] * t[1]
)
texts = st.one_of(any_text, mixed_scripts, joined.map("".join), long_repeats, long_words)
