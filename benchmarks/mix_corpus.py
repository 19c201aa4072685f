"""A curated run directory for the mix benchmarks: real multilingual documents + edu / domain / safety annotations.

Documents come from ``benchmarks.multilingual_corpus`` (Debian manuals cut at paragraphs, manpages in 24 languages,
fortunes); long documents (for S3) are runs of 3–12 consecutive manual sections of one language joined. The labels
are assigned by source, so that re-weighting a domain changes what text a proxy model sees: manpages are ``code``
(topic software), Debian manuals ``stem`` (science_tech), fortunes and Django's translated message catalogues
(django-po, ~90 languages) ``other`` (literature: without django-po, ``other`` was 0.4% of the tokens and the
ablation's search was one-dimensional, code vs stem); the education score is a
per-source level plus a hash-derived jitter, P(unsafe) a small hash-derived value. What is measured is the mixing,
not the annotators (benchmarks/annotate_*.py measure those).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.multilingual_corpus import load_corpus
from curation.tokens import QwenTokenCounter
from schemas import ANNOTATION, DOCUMENT, to_table

TOPIC = {"manpages": "software", "debian-docs": "science_tech", "fortunes": "literature", "django-po": "literature"}
EDU = {"manpages": 2.5, "debian-docs": 3.2, "fortunes": 1.2, "django-po": 1.8}
SOURCES = ("debian-docs", "manpages", "fortunes")  # mix_throughput's corpus
ABLATION_SOURCES = (*SOURCES, "django-po")  # mix_ablation's: an ``other`` group with a real share


def _jitter(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32


def build_docs(megabytes: float, seed: int = 0, sources: tuple[str, ...] = SOURCES) -> list[dict]:
    corpus = load_corpus(megabytes, sources=sources, seed=seed)
    docs = [(d.id, d.source, d.lang, d.text) for d in corpus]
    manuals: dict[str, list] = {}
    for d in corpus:
        if d.source == "debian-docs":
            manuals.setdefault(d.lang, []).append(d)
    for lang, parts in sorted(manuals.items()):
        i = 0
        while i + 3 <= len(parts):
            n = 3 + int(_jitter(f"{lang}{i}") * 10)
            group = parts[i : i + n]
            docs.append((f"long/{group[0].id}", "debian-docs", lang, "\n\n".join(p.text for p in group)))
            i += n
    counter = QwenTokenCounter()
    counts = counter.count_batch([t for *_, t in docs])
    out = []
    for (doc_id, source, lang, text), n_tokens in zip(docs, counts, strict=True):
        out.append({
            "id": doc_id, "text": text, "source": source, "locator": doc_id, "lang": lang, "lang_score": 0.9,
            "script": None, "content_hash": hashlib.sha256(text.encode()).hexdigest(), "n_chars": len(text),
            "n_tokens": n_tokens, "meta": {}, "quality": None, "dedup_cluster": None,
            "dedup_cluster_size": 1 + int(_jitter("dup" + doc_id) * 4),
        })  # fmt: skip
    return out


def annotations(docs: list[dict]) -> list[dict]:
    rows = []
    for d in docs:
        edu = min(5.0, max(0.0, EDU[d["source"]] + 1.6 * (_jitter("edu" + d["id"]) - 0.5)))
        for task, label, score in (
            ("edu", str(round(edu)), edu),
            ("domain", TOPIC[d["source"]], 0.9),
            ("safety", "safe", 0.2 * _jitter("safe" + d["id"])),
        ):
            rows.append({
                "id": d["id"], "content_hash": d["content_hash"], "task": task, "status": "ok", "label": label,
                "score": score, "distribution": {label: 1.0}, "model": "by-source", "prompt_version": f"{task}-v1",
                "backend": "benchmark", "error": None,
            })  # fmt: skip
    return rows


def write_run(out: Path, docs: list[dict], n_files: int = 4) -> None:
    """The Parquet a curate + annotate run leaves: ``curated/documents-*`` and ``annotations/<task>-*``."""
    (out / "curated").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for k in range(n_files):
        part = docs[k::n_files]
        pq.write_table(to_table(part, DOCUMENT), out / "curated" / f"documents-{k:05d}-of-{n_files:05d}.parquet")
    ann = annotations(docs)
    for task in ("edu", "domain", "safety"):
        rows = [a for a in ann if a["task"] == task]
        pq.write_table(to_table(rows, ANNOTATION), out / "annotations" / f"{task}-00000-of-00001.parquet")
