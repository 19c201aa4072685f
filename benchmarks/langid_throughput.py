"""Language-ID throughput on the bundled sample: our batched LanguageIdentifier against two references run here.

* peer: one fastText ``predict`` per document on the whole text with newlines removed (what datatrove's
  LanguageFilter and most scripts do);
* limit: one fastText ``predict`` call on the already-prepared texts (the model alone, no script detection).

    python benchmarks/langid_throughput.py [--repeat 20]

Prints docs/s and MB/s of each, and the ratios ours/peer and ours/limit.
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from pathlib import Path

import fasttext
import pymupdf

from curation.langid import LanguageIdentifier, prepare_text
from curation.model_store import resolve_model

ROOT = Path(__file__).resolve().parents[1]


def sample_texts() -> list[str]:
    texts = []
    for path in sorted(glob.glob(str(ROOT / "data/sample/text/*.jsonl"))):
        for line in Path(path).read_bytes().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("text"), str) and record["text"].strip():
                texts.append(record["text"])
    for path in sorted(glob.glob(str(ROOT / "data/sample/pdf/*.pdf"))):
        try:
            with pymupdf.open(path) as doc:
                texts.append("\n".join(page.get_text() for page in doc))
        except Exception:
            continue
    return texts


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    texts = sample_texts()
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    ours = LanguageIdentifier("lid.176")
    raw = fasttext.load_model(str(resolve_model("lid.176")))
    prepared = [prepare_text(t) for t in texts]

    def run_ours():
        for i in range(0, len(texts), args.batch_size):
            ours.predict_batch(texts[i : i + args.batch_size])

    def run_peer():
        for t in texts:
            raw.predict(t.replace("\n", " "))

    def run_limit():
        raw.predict(prepared)

    results = {
        "ours (batched)": timed(run_ours, args.repeat),
        "peer (per doc, full text)": timed(run_peer, args.repeat),
    }
    results["limit (fastText only)"] = timed(run_limit, args.repeat)
    print(f"{len(texts)} documents, {megabytes:.2f} MB, repeat {args.repeat}")
    for name, seconds in results.items():
        print(f"  {name:28s} {len(texts) / seconds:10.0f} docs/s {megabytes / seconds:8.1f} MB/s")
    ours_s = results["ours (batched)"]
    print(f"ratio ours/peer  = {results['peer (per doc, full text)'] / ours_s:.2f}x faster")
    print(f"ratio ours/limit = {results['limit (fastText only)'] / ours_s:.2f} (1.0 = no overhead over bare fastText)")


if __name__ == "__main__":
    main()
