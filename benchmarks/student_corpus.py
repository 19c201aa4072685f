"""Real documents for teacher labels and student training: a Document Parquet plus a gold safety set.

    python benchmarks/student_corpus.py --out /tmp/students [--docs 1200] [--seed 0]

Writes
* ``<out>/curated/documents-00000-of-00001.parquet``: ``--docs`` Document rows, taken round-robin over (source,
  language) from the dev corpora (``multilingual_corpus.load_corpus``: Debian manuals cut into ~8 KB documents,
  rendered manpages in 25 languages, fortunes, Django UI catalogues) and the sample's JSONL texts (manpages, licences),
  so ``python -m pipelines.annotate --output <out>`` labels them like any curated run;
* ``<out>/fortunes_safety.jsonl``: ``{"text", "label"}`` lines, every cookie of Debian's fortunes-es-off and
  fortunes-it-off (the packages' own "offensive" split, label ``offensive``) and as many cookies drawn from
  fortunes-es and fortunes-it (label ``safe``): weak but real gold labels for a sanity check of the safety student.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import pyarrow.parquet as pq
from multilingual_corpus import _fortune_docs, load_corpus

from curation.records import new_document
from curation.text.normalize import content_hash
from schemas import DOCUMENT, to_table

REPO = Path(__file__).resolve().parents[1]
SAMPLE_TEXT = REPO / "data" / "sample" / "text"
OFFENSIVE = ("fortunes-es-off", "fortunes-it-off")
CLEAN = ("fortunes-es", "fortunes-it")


def sample_texts() -> list[tuple[str, str, str]]:
    """(id, source, text) of the sample's JSONL documents (real manpages and licences)."""
    out = []
    for name in ("manpages.jsonl", "licenses.jsonl"):
        for line in (SAMPLE_TEXT / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out.append((f"sample/{record['id']}", "sample", record["text"]))
    return out


def documents(n_docs: int, seed: int) -> list[dict]:
    corpus = [(d.id, d.source, d.text) for d in load_corpus(megabytes=None if n_docs > 5000 else 12.0, seed=seed)]
    rng = random.Random(seed)
    picked = sample_texts()
    rng.shuffle(picked)
    by_source: dict[str, list[tuple[str, str, str]]] = {"sample": picked[: n_docs // 6]}
    for item in corpus:
        by_source.setdefault(item[1], []).append(item)
    rows, seen = [], set()
    while len(rows) < n_docs and any(by_source.values()):
        for items in by_source.values():
            if items and len(rows) < n_docs:
                doc_id, source, text = items.pop(0)
                digest = content_hash(text)
                if digest in seen or not text.strip():
                    continue
                seen.add(digest)
                doc = new_document(doc_id, text, source, doc_id)
                doc["content_hash"] = digest
                rows.append(doc)
    return rows


def fortunes_gold(seed: int) -> list[dict[str, str]]:
    docs = [d for group in _fortune_docs().values() for d in group]
    offensive = [d for d in docs if d.id.split("/")[1] in OFFENSIVE]
    clean = [d for d in docs if d.id.split("/")[1] in CLEAN]
    rng = random.Random(seed)
    rng.shuffle(clean)
    rows = [{"text": d.text, "label": "offensive"} for d in offensive]
    rows += [{"text": d.text, "label": "safe"} for d in clean[: len(offensive)]]
    rng.shuffle(rows)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--docs", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    (out / "curated").mkdir(parents=True, exist_ok=True)
    rows = documents(args.docs, args.seed)
    pq.write_table(to_table(rows, DOCUMENT), out / "curated" / "documents-00000-of-00001.parquet")
    sources: dict[str, int] = {}
    for row in rows:
        sources[row["source"]] = sources.get(row["source"], 0) + 1
    print(f"{len(rows)} documents: {sources}")
    gold = fortunes_gold(args.seed)
    with open(out / "fortunes_safety.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in gold)
    print(f"{len(gold)} fortunes with gold safety labels ({sum(r['label'] == 'offensive' for r in gold)} offensive)")


if __name__ == "__main__":
    main(sys.argv[1:])
