"""Throughput of language ID + quality filters, ours against datatrove's equivalent steps, on the same real text.

    python benchmarks/filters_throughput.py [--mb 30] [--batch-size 256] [--seed 0]

Text: about ``--mb`` MB of real multilingual documents (``multilingual_corpus.load_corpus``: Debian doc .txt cut
into ~8 KB documents, rendered man pages in 25 languages, fortune cookies, Django .po catalogues), NFC-normalised
as the pipeline does before language ID. Both sides see the same strings.

* datatrove 0.10.1: ``LanguageFilter`` (lid.176, default threshold 0.65) -> ``GopherQualityFilter`` ->
  ``GopherRepetitionFilter`` -> ``C4QualityFilter`` -> ``FineWebQualityFilter``, all with their defaults, one
  document at a time as a datatrove pipeline runs them. The filters get the language LanguageFilter found, as a
  per-language datatrove pipeline (FineWeb-2) would, which picks datatrove's word tokeniser for it
  (``tokenizer_assignment.csv``: spaCy for most languages). Where the assigned tokeniser's package is not
  installed here (jieba for Chinese, SudachiPy for Japanese, pyvi, kiwipiepy, pythainlp, indic-nlp, ...),
  datatrove's own fallback is used, ``WhitespaceTokenizer`` (spaCy ``xx``); the tokeniser of each language is
  printed. The fallback is cheaper than the real segmenters, so datatrove's real cost there is higher, not lower.
  LanguageFilter downloads lid.176.bin from fbaipublicfiles.com, which this machine cannot reach: its model class
  is subclassed (``LocalFT176LID``) to load our local copy, ``curation.model_store.resolve_model("lid.176")``
  (the same lid.176 weights, quantised .ftz), so both sides run the same model.
* ours: ``curation.text.langid.LanguageIdentifier.predict_batch`` in batches, then ``curation.filters.apply_filters``
  with the full default filter set (Gopher quality, Gopher repetition, C4, FineWeb) and per-language config.

Cost is CPU seconds of this one process (``time.process_time``), so MB/s is per core. Steps are timed inside the
chain: a step's MB are the documents that reached it. datatrove caches word splits (``split_into_words`` has an
``lru_cache``): Gopher repetition reuses Gopher quality's split, so the tokeniser's cost shows in Gopher quality;
ours splits words once per document, shown as its own step. Prints the step table with ratios, then per language
(the source's language, not a prediction) the keep rates and where the two disagree, with the reasons on each side.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from multilingual_corpus import CorpusDoc, load_corpus

from curation.config_merge import merged_filter_config
from curation.filters import apply_filters, build_filters
from curation.filters.words import WordSplitter
from curation.model_store import resolve_model
from curation.text.langid import LanguageIdentifier

STEPS = ("lid", "words", "gopher_quality", "gopher_repetition", "c4", "fineweb")


@dataclass
class Timing:
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, step: str, seconds: float, n_bytes: int) -> None:
        self.cpu[step] += seconds
        self.bytes[step] += n_bytes

    def mb_per_s(self, step: str) -> float | None:
        return self.bytes[step] / 1e6 / self.cpu[step] if self.cpu.get(step) else None


# ------------------------------------------------------------------------------------------------ datatrove
def datatrove_language_filter():
    """datatrove's ``LanguageFilter`` (its defaults) on the local lid.176 file instead of downloading lid.176.bin."""
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.utils.lid import FT176LID

    class LocalFT176LID(FT176LID):
        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(str(resolve_model("lid.176")))
            return self._model

    language_filter = LanguageFilter()
    language_filter.model = LocalFT176LID(None)
    return language_filter


def datatrove_chain():
    """(run(doc) -> (keep, reason, lang), tokenizer names by language) with datatrove's classes and defaults."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.text import split_into_parts
    from datatrove.utils.word_tokenizers import WhitespaceTokenizer, load_word_tokenizer

    language_filter = datatrove_language_filter()
    fallback = WhitespaceTokenizer()
    tokenizers: dict[str, str] = {}
    chains: dict[str, list] = {}

    def tokenizer_for(lang: str):
        try:
            tok = load_word_tokenizer(lang)
            tok.word_tokenize("Probe text, two sentences. Second one.")
            tokenizers[lang] = f"{type(tok).__name__}({getattr(tok, 'language', '') or ''})"
            return lang
        except Exception as err:  # missing optional package or no assignment: datatrove's fallback
            tokenizers[lang] = f"WhitespaceTokenizer(xx) [fallback: {type(err).__name__}]"
            return fallback

    def filters_for(lang: str) -> list:
        if lang not in chains:
            tok = tokenizer_for(lang)
            chains[lang] = [
                ("gopher_quality", GopherQualityFilter(language=tok)),
                ("gopher_repetition", GopherRepetitionFilter(language=tok)),
                ("c4", C4QualityFilter(language=tok)),
                ("fineweb", FineWebQualityFilter(language=tok)),
            ]
        return chains[lang]

    def run(doc: CorpusDoc, timing: Timing):
        d = Document(text=doc.text, id=doc.id)
        n_bytes = doc.n_bytes
        t0 = time.process_time()
        keep = language_filter.filter(d)
        timing.add("lid", time.process_time() - t0, n_bytes)
        lang = d.metadata["language"]
        if not keep:
            return False, f"lid:score<{language_filter.language_threshold}", lang
        for name, flt in filters_for(lang):
            n_bytes = len(d.text.encode("utf-8"))  # C4 rewrites the text it passes on
            t0 = time.process_time()
            result = flt.filter(d)
            timing.add(name, time.process_time() - t0, n_bytes)
            ok, reason = result if isinstance(result, tuple) else (result, None)
            if not ok:
                return False, f"{name}:{reason}", lang
        return True, None, lang

    return run, tokenizers, split_into_parts.cache_clear


# ------------------------------------------------------------------------------------------------ ours
def our_chain(docs: list[CorpusDoc], batch_size: int, timing: Timing) -> list[tuple[bool, str | None, str]]:
    """Same loop as curation.filters.apply_filters, with a timer around each filter."""
    lid = LanguageIdentifier("lid.176")
    filters = build_filters(merged_filter_config({}))
    splitter = WordSplitter()
    out = []
    for start in range(0, len(docs), batch_size):
        batch = docs[start : start + batch_size]
        t0 = time.process_time()
        preds = lid.predict_batch([d.text for d in batch])
        timing.add("lid", time.process_time() - t0, sum(d.n_bytes for d in batch))
        for doc, pred in zip(batch, preds, strict=True):
            t0 = time.process_time()
            words = splitter(doc.text)
            timing.add("words", time.process_time() - t0, doc.n_bytes)
            reason = None
            for flt in filters:
                t0 = time.process_time()
                reason, _ = flt.evaluate(doc.text, words, pred.lang, pred.script)
                timing.add(flt.name, time.process_time() - t0, doc.n_bytes)
                if reason is not None:
                    break
            out.append((reason is None, reason, pred.lang))
    return out


def check_same_decisions(docs: list[CorpusDoc], batch_size: int, results: list) -> None:
    """The timed loop above must decide exactly as apply_filters does (checked on a sample, not timed)."""
    lid = LanguageIdentifier("lid.176")
    filters = build_filters(merged_filter_config({}))
    sample = list(range(0, len(docs), max(1, len(docs) // 500)))
    preds = lid.predict_batch([docs[i].text for i in sample])
    for i, pred in zip(sample, preds, strict=True):
        result = apply_filters(filters, docs[i].text, pred.lang, pred.script)
        assert (result.keep, result.reason) == results[i][:2], (docs[i].id, result, results[i])


# ------------------------------------------------------------------------------------------------ isolation
def isolation_overhead(docs: list[CorpusDoc], batch_size: int, repeats: int = 4) -> tuple[float, float]:
    """CPU seconds of the pipeline's LangIdFn + QualityFilterFn over ``docs``: (bare process bodies, the same
    bodies under per-record isolation as the pipeline runs them). Interleaved repeats, best of each."""
    from pipelines.config import load_config
    from pipelines.curate_steps import LangIdFn, QualityFilterFn

    config = load_config()
    lid, filters = LangIdFn(config["langid"]), QualityFilterFn(config["filters"])
    lid.setup()
    filters.setup()
    records = [{"id": d.id, "text": d.text, "meta": {}, "source": d.source, "locator": d.id} for d in docs]

    def run(isolated: bool) -> float:
        lid_process = lid.process if isolated else lambda b: type(lid).process.__wrapped__(lid, b)
        filter_process = filters.process if isolated else lambda d: type(filters).process.__wrapped__(filters, d)
        t0 = time.process_time()
        for start in range(0, len(records), batch_size):
            for out in lid_process(records[start : start + batch_size]):
                if isinstance(out, dict):
                    for _ in filter_process(out):
                        pass
        return time.process_time() - t0

    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(repeats):
        for isolated in (i % 2 == 0, i % 2 == 1):  # alternate which goes first: warm caches favour neither
            times[isolated].append(run(isolated))
    return min(times[False]), min(times[True])


# ------------------------------------------------------------------------------------------------ report
def _rate(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _top(counter: Counter, n: int = 2) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in counter.most_common(n)) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=30.0, help="megabytes of text (UTF-8); 50 takes ~6 min")
    parser.add_argument("--batch-size", type=int, default=256, help="documents per LID batch (ours)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--isolation-only", action="store_true", help="only measure per-record isolation's overhead on our DoFns"
    )
    args = parser.parse_args()

    docs = load_corpus(args.mb, seed=args.seed)
    total_mb = sum(d.n_bytes for d in docs) / 1e6
    sources = Counter(d.source for d in docs)
    langs = {d.lang for d in docs}
    print(f"corpus: {total_mb:.1f} MB, {len(docs)} documents ({dict(sources)}), {len(langs)} languages\n")

    bare, isolated = isolation_overhead(docs, args.batch_size)
    print(
        f"per-record isolation (pipelines.isolation) on the pipeline's LangIdFn + QualityFilterFn: bare "
        f"{bare:.2f} CPU s, isolated {isolated:.2f} CPU s: {isolated / bare:.3f}x "
        f"({100 * (isolated / bare - 1):+.1f} %; limit +5 %)\n"
    )
    if args.isolation_only:
        return

    ours_t = Timing()
    t0 = time.process_time()
    ours = our_chain(docs, args.batch_size, ours_t)
    ours_total = time.process_time() - t0
    check_same_decisions(docs, args.batch_size, ours)

    run_dt, tokenizers, clear_cache = datatrove_chain()
    dt_t = Timing()
    clear_cache()
    t0 = time.process_time()
    theirs = [run_dt(doc, dt_t) for doc in docs]
    dt_total = time.process_time() - t0

    ours_filters = ours_total - ours_t.cpu["lid"]
    dt_filters = dt_total - dt_t.cpu["lid"]
    print("## Throughput (MB/s per core; a step's MB = documents that reached it)\n")
    print("| step | datatrove | ours | ours / datatrove |")
    print("|---|---|---|---|")
    for step in STEPS:
        a, b = dt_t.mb_per_s(step), ours_t.mb_per_s(step)
        ratio = f"{b / a:.1f}x" if a and b else "-"
        label = {"words": "word split (ours: once per document; datatrove: inside its filters)"}.get(step, step)
        print(f"| {label} | {_rate(a)} | {_rate(b)} | {ratio} |")
    rows = (
        ("filters only (chain without LID)", total_mb / dt_filters, total_mb / ours_filters),
        ("**chain with LID**", total_mb / dt_total, total_mb / ours_total),
    )
    for label, a, b in rows:
        print(f"| {label} | {a:.2f} | {b:.2f} | **{b / a:.1f}x** |")
    print(
        f"\nCPU seconds: datatrove {dt_total:.1f} ({dt_total / total_mb:.2f} s/MB), "
        f"ours {ours_total:.1f} ({ours_total / total_mb:.3f} s/MB). Targets: ours/datatrove >= 5x for the chain "
        f"({total_mb / ours_total / (total_mb / dt_total):.1f}x), >= 1 MB/s per core with LID "
        f"({total_mb / ours_total:.2f})."
    )

    print("\n## Keep/drop per language (language of the source) and disagreements\n")
    print(
        "| lang | docs | keep datatrove | keep ours | both drop | only datatrove drops: its reasons "
        "| only ours drops: our reasons |"
    )
    print("|---|---|---|---|---|---|---|")
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        by_lang[doc.lang].append(i)
    totals = Counter()
    for lang in sorted(by_lang):
        idx = by_lang[lang]
        keep_dt = sum(theirs[i][0] for i in idx)
        keep_ours = sum(ours[i][0] for i in idx)
        both_drop = sum(1 for i in idx if not theirs[i][0] and not ours[i][0])
        only_dt = Counter(theirs[i][1] for i in idx if not theirs[i][0] and ours[i][0])
        only_ours = Counter(ours[i][1] for i in idx if ours[i][0] is False and theirs[i][0])
        totals.update(n=len(idx), dt=keep_dt, ours=keep_ours, both=both_drop)
        print(
            f"| {lang} | {len(idx)} | {keep_dt / len(idx):.2f} | {keep_ours / len(idx):.2f} | {both_drop} "
            f"| {sum(only_dt.values())}: {_top(only_dt)} | {sum(only_ours.values())}: {_top(only_ours)} |"
        )
    print(f"| **all** | {totals['n']} | {totals['dt'] / totals['n']:.2f} | {totals['ours'] / totals['n']:.2f} "
          f"| {totals['both']} | | |")  # fmt: skip

    print("\n## Keep rate per source and language (good prose: debian-docs, manpages)\n")
    print("| source | lang | docs | keep datatrove | keep ours | datatrove's main reason | our main reason |")
    print("|---|---|---|---|---|---|---|")
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        groups[(doc.source, doc.lang)].append(i)
    for (source, lang), idx in sorted(groups.items()):
        dt_reasons = Counter(theirs[i][1] for i in idx if not theirs[i][0])
        our_reasons = Counter(ours[i][1] for i in idx if not ours[i][0])
        print(
            f"| {source} | {lang} | {len(idx)} | {sum(theirs[i][0] for i in idx) / len(idx):.2f} "
            f"| {sum(ours[i][0] for i in idx) / len(idx):.2f} | {_top(dt_reasons, 1)} | {_top(our_reasons, 1)} |"
        )
    print(
        "\ndatatrove word tokeniser per detected language: "
        + "; ".join(f"{k}: {v}" for k, v in sorted(tokenizers.items()))
    )


if __name__ == "__main__":
    main()
