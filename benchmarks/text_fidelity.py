"""Text fidelity through curation: real source files in, the same bytes out (issue 18).

    python benchmarks/text_fidelity.py [--per-language 300] [--code]

Input: up to ``--per-language`` real files each of Python (this interpreter's standard library), Go
(golang-1.19-src), Rust (rust-src) and Perl (perl-modules-5.36) from the dev corpora, one JSONL record per file,
through ``pipelines.curate`` (default local runner) with the quality filters and near dedup off (a code branch with
its own filters is separate work): read -> normalise -> LID -> exact dedup. ``--code``: the same files as a ``code``
source with every default on (code filters, redaction, near dedup); a redacted file counts as identical.

Per language: files in, kept, rejected (by reason), exact duplicates; kept files that are byte-identical to the file
(apart from CRLF -> LF, the one whitespace repair); Python files that ``ast.parse`` after curation. The same for
what the previous normalisation stored (runs of spaces and tabs collapsed to one space, 3+ newlines to 2, the text
stripped), computed on the same files, to show what it destroyed.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from multilingual_corpus import DEV  # noqa: E402

SOURCES = {
    "python": (Path(sysconfig.get_path("stdlib")), ".py"),
    "go": (DEV / "x" / "golang-1.19-src", ".go"),
    "rust": (DEV / "x" / "rust-src", ".rs"),
    "perl": (DEV / "x" / "perl-modules-5.36", ".pm"),
}
_OLD_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_OLD_SPACES = re.compile(f" [ {_OLD_SPACE}]+|[{_OLD_SPACE}][ {_OLD_SPACE}]*")


def previous_normalisation(text: str) -> str:
    """What the stored text became before issue 18 (whitespace part only; the other repairs are unchanged)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _OLD_SPACES.sub(" ", text).replace(" \n", "\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def source_files(per_language: int) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for lang, (root, suffix) in SOURCES.items():
        files = {}
        for path in sorted(root.rglob(f"*{suffix}")):
            if "test" in path.parts or "site-packages" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if text.strip() and len(text) < 400_000:
                files[f"{lang}/{path.relative_to(root)}"] = text
            if len(files) >= per_language:
                break
        out[lang] = files
    return out


def parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--code", action="store_true", help="as files of a `code` source (the code branch, defaults)")
    args = parser.parse_args()
    files = source_files(args.per_language)
    work = Path(tempfile.mkdtemp(prefix="fidelity-"))
    redacted: set[str] = set()
    try:
        records = [{"id": k, "text": v} for lang in files.values() for k, v in lang.items()]
        if args.code:  # one file per record under its key: the code branch with its filters and redaction on
            for r in records:
                (work / "tree" / r["id"]).parent.mkdir(parents=True, exist_ok=True)
                (work / "tree" / r["id"]).write_text(r["text"], encoding="utf-8")
            sets = [f"sources=[{{name: code, type: code, paths: ['{work}/tree/**']}}]"]
        else:
            (work / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
            sets = [
                f"sources=[{{name: code, type: jsonl, paths: ['{work}/in.jsonl']}}]",
                "filters={gopher_quality: false, gopher_repetition: false, c4: false, fineweb: false}",
                "dedup.near=false",
            ]
        cmd = [sys.executable, "-m", "pipelines.curate", "--output", str(work / "out"), "--progress_s=0"]
        cmd += [x for s in sets for x in ("--set", s)]
        subprocess.run(cmd, check=True, cwd=HERE.parent, capture_output=True)
        import pyarrow.parquet as pq

        kept = {}
        for path in (work / "out" / "curated").glob("documents-*.parquet"):
            for row in pq.read_table(path, columns=["id", "text", "meta"]).to_pylist():
                kept[row["id"].removeprefix("code/")] = row["text"]
                if "redactions" in dict(row["meta"] or []):
                    redacted.add(row["id"].removeprefix("code/"))
        rejected: dict[str, str] = {}
        for path in (work / "out" / "curated").glob("rejections-*.parquet"):
            for row in pq.read_table(path, columns=["id", "reason"]).to_pylist():
                rejected[row["id"].removeprefix("code/")] = row["reason"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    how = "as a `code` source (code branch, defaults)" if args.code else "(quality filters and near dedup off)"
    print(f"{len(records)} real source files through pipelines.curate {how}; {len(redacted)} kept files redacted\n")
    print("| language | files | kept | rejected (reasons) | exact duplicates | byte-identical kept: now | before | "
          "parse (Python) after curation: now | before | original |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for lang, texts in files.items():
        ids = [k for k in texts if k in kept]
        same = sum(kept[k] == texts[k].replace("\r\n", "\n") or k in redacted for k in ids)
        before = sum(previous_normalisation(texts[k]) == texts[k].replace("\r\n", "\n") for k in ids)
        reasons = Counter(rejected[k] for k in texts if k in rejected)
        cells = [lang, len(texts), len(ids), f"{sum(reasons.values())} {dict(reasons) or ''}".strip()]
        cells.append(len(texts) - len(ids) - sum(reasons.values()))
        cells += [f"{same / max(len(ids), 1):.3f}", f"{before / max(len(ids), 1):.3f}"]
        if lang == "python":
            ok = [k for k in ids if parses(texts[k])]
            now = sum(parses(kept[k]) for k in ok)
            old = sum(parses(previous_normalisation(texts[k])) for k in ok)
            cells += [f"{now}/{len(ok)}", f"{old}/{len(ok)}", f"{len(ok)}/{len(ids)}"]
        else:
            cells += ["-", "-", "-"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
