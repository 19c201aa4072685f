"""A curated run's outputs (documents + edu/domain/safety annotations) built from real fixture text, for the mix tests.

Documents are slices of real text (the Debian FAQ, the Russian / Chinese ls(1) manpages, Django's Arabic messages)
cut to the token lengths a test needs; languages are the texts' own, and the labels (edu score, domain topic, P(unsafe),
duplicate-cluster size) are assigned deterministically per document, since what is under test is the mixing, not the
annotators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from curation.tokens import QwenTokenCounter
from schemas import ANNOTATION, DOCUMENT, to_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"
TEXTS = {
    "eng_Latn": (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8"),
    "rus_Cyrl": (FIXTURES / "ls.1.ru.txt").read_text(encoding="utf-8"),
    "zho_Hans": (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8"),
    "arb_Arab": (FIXTURES / "django-messages.ar.txt").read_text(encoding="utf-8"),
}
TOPICS = ("science_tech", "software_dev", "history", "health", "software", "literature")  # stem code other ...


def slice_tokens(text: str, start_char: int, n_tokens: int, counter: QwenTokenCounter) -> str:
    """About ``n_tokens`` tokens of ``text`` from ``start_char`` on, wrapping around (long docs repeat the text)."""
    doubled = text * (1 + (n_tokens * 6) // max(len(text), 1) + 1)
    start = start_char % len(text)
    window = doubled[start : start + n_tokens * 6]
    tokens = counter.encoding.encode_ordinary(window)[:n_tokens]
    return counter.encoding.decode(tokens)


def make_docs(
    specs: Sequence[tuple[str, str, int]], counter: QwenTokenCounter, seed: int = 0
) -> tuple[list[dict], list[dict]]:
    """Documents for ``(source, lang, n_tokens)`` specs, and their edu / domain / safety annotations."""
    docs, annotations = [], []
    for i, (source, lang, n_tokens) in enumerate(specs):
        text = slice_tokens(TEXTS[lang], (i * 7919 + seed * 104729) % len(TEXTS[lang]), n_tokens, counter)
        digest = hashlib.sha256(f"{i}:{text}".encode()).hexdigest()
        doc_id = f"{source}-{i:05d}"
        docs.append(
            {
                "id": doc_id,
                "text": text,
                "source": source,
                "locator": f"fixture#{i}",
                "lang": lang,
                "lang_score": 0.9,
                "script": None,
                "content_hash": digest,
                "n_chars": len(text),
                "n_tokens": counter.count(text),
                "meta": {},
                "quality": None,
                "dedup_cluster": None,
                "dedup_cluster_size": 1 + i % 4,
            }
        )
        h = int(digest[:8], 16)
        for task, label, score in (
            ("edu", str(h % 6), (h % 51) / 10),
            ("domain", TOPICS[h % len(TOPICS)], 0.8),
            ("safety", "safe", (h % 7) / 20),
        ):
            annotations.append(
                {
                    "id": doc_id,
                    "content_hash": digest,
                    "task": task,
                    "status": "ok",
                    "label": label,
                    "score": score,
                    "distribution": {label: 1.0},
                    "model": "fixture",
                    "prompt_version": f"{task}-v1",
                    "backend": "fixture",
                    "error": None,
                }
            )
    return docs, annotations


def write_run(out: Path, docs: list[dict], annotations: list[dict]) -> None:
    """The Parquet a curate + annotate run leaves under ``out`` (what ``pipelines.mix`` reads)."""
    (out / "curated").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    half = len(docs) // 2
    for k, part in enumerate((docs[:half], docs[half:])):
        pq.write_table(to_table(part, DOCUMENT), out / "curated" / f"documents-{k:05d}-of-00002.parquet")
    for task in ("edu", "domain", "safety"):
        rows = [a for a in annotations if a["task"] == task]
        pq.write_table(to_table(rows, ANNOTATION), out / "annotations" / f"{task}-00000-of-00001.parquet")
