"""Programming language of a source file: pygments' filename table, Linguist-style rules where an extension is shared.

pygments (maintained, pure Python, ~600 lexers) maps a file name to its candidate languages; for a shared extension
it asks each candidate's ``analyse_text``, which is weak where it matters most for a corpus: 35 % of Debian's real
Perl ``.pl``/``.pm`` files come out as Prolog or Promela (benchmarks/code_language_id.py). Those extensions get
content rules in the spirit of GitHub Linguist's heuristics.yml (``use strict`` / ``my $x`` is Perl, ``:-`` clauses
are Prolog ...), and pygments' lexer names are mapped to Linguist's (``Bash`` -> ``Shell``, ``Transact-SQL`` ->
``SQL``). A file without extension is named by its shebang or its exact file name (``Makefile``, ``Dockerfile``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# kinds: what the language is for, which decides the filters (data files) and the mixture group (code vs prose)
PROGRAMMING, DATA, MARKUP, PROSE = "programming", "data", "markup", "prose"

# pygments' lexer name -> the name used here (GitHub Linguist's, where they differ)
_RENAME = {
    "Bash": "Shell", "Bash Session": "Shell", "Tcsh": "Shell", "Transact-SQL": "SQL", "MySQL": "SQL",
    "PostgreSQL SQL dialect": "SQL", "SQLite3con": "SQL", "Nimrod": "Nim", "verilog": "Verilog", "GAS": "Assembly",
    "NASM": "Assembly", "Docker": "Dockerfile", "Text only": "Text", "VimL": "Vim Script", "EmacsLisp": "Emacs Lisp",
    "Delphi": "Pascal", "REBOL": "R", "Forth": "F#", "TADS 3": "Perl", "Promela": "Perl", "POVRay": "C",
    "Groff": "Roff", "Python 2.x": "Python", "Python console session": "Python", "JSONBareObject": "JSON",
    "JSON-LD": "JSON", "reStructuredText": "reStructuredText", "Cython": "Cython", "Objective-C": "Objective-C",
    "Go": "Go", "Rust": "Rust", "Perl6": "Raku", "PowerShell Session": "PowerShell", "Makefile": "Makefile",
    "Base Makefile": "Makefile", "CMake": "CMake", "OpenEdge ABL": "TeX",
}  # fmt: skip

# names pygments does not know (or knows under a lexer for another language) -> (language, kind)
_BY_EXTENSION = {
    ".csv": ("CSV", DATA), ".tsv": ("TSV", DATA), ".ipynb": ("Jupyter Notebook", PROGRAMMING),
    ".lock": ("Lock file", DATA), ".sum": ("Lock file", DATA), ".r": ("R", PROGRAMMING), ".fs": ("F#", PROGRAMMING),
    ".t": ("Perl", PROGRAMMING), ".pm": ("Perl", PROGRAMMING), ".pod": ("Pod", MARKUP), ".txt": ("Text", PROSE),
}  # fmt: skip
_BY_NAME = {
    "package-lock.json": ("Lock file", DATA), "yarn.lock": ("Lock file", DATA), "pnpm-lock.yaml": ("Lock file", DATA),
    "cargo.lock": ("Lock file", DATA), "poetry.lock": ("Lock file", DATA), "gemfile.lock": ("Lock file", DATA),
    "composer.lock": ("Lock file", DATA), "go.sum": ("Lock file", DATA), "pipfile.lock": ("Lock file", DATA),
}  # fmt: skip
_PROSE_STEMS = frozenset({"license", "licence", "copying", "readme", "changelog", "authors", "notice", "news"})
_KINDS = {
    "JSON": DATA, "YAML": DATA, "XML": DATA, "TOML": DATA, "INI": DATA, "CSV": DATA, "TSV": DATA, "Lock file": DATA,
    "Properties": DATA, "HTML": MARKUP, "Markdown": MARKUP, "reStructuredText": MARKUP, "TeX": MARKUP,
    "Roff": MARKUP, "Pod": MARKUP, "Text": PROSE,
}  # fmt: skip

_SHEBANG = re.compile(r"#!\s*(?:/usr)?(?:/local)?/bin/(?:env\s+(?:-\S+\s+)*)?([A-Za-z]+)")
_INTERPRETERS = {
    "python": "Python", "perl": "Perl", "sh": "Shell", "bash": "Shell", "dash": "Shell", "zsh": "Shell",
    "ksh": "Shell", "ruby": "Ruby", "node": "JavaScript", "nodejs": "JavaScript", "php": "PHP", "lua": "Lua",
    "tclsh": "Tcl", "wish": "Tcl", "awk": "Awk", "gawk": "Awk", "Rscript": "R", "make": "Makefile",
}  # fmt: skip


def _rule(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


# (extension, language, content rule): the first rule that matches the file's head names it (Linguist-style)
_HEURISTICS: dict[str, list[tuple[str, re.Pattern[str] | None]]] = {
    ".pl": [
        ("Perl", _rule(r"\buse\s+(?:strict|warnings|v?5)|^\s*(?:my|our|sub|package)\b|\$\w+|#!.*\bperl\b")),
        ("Prolog", _rule(r"^[^#%\n]*:-|^\s*%")),
        ("Perl", None),
    ],
    ".h": [
        ("Objective-C", _rule(r"^\s*(?:@interface|@protocol|@end|#import)\b")),
        ("C++", _rule(r"^\s*(?:class\s+\w+\s*[:{]|namespace\b|template\s*<)|\bstd::")),
        ("C", None),
    ],
    ".m": [
        ("Objective-C", _rule(r"^\s*(?:@interface|@implementation|@end|#import|#include)\b")),
        ("MATLAB", _rule(r"^\s*(?:function\b|%)|^\s*end\s*$")),
        ("Objective-C", None),
    ],
    ".v": [("Coq", _rule(r"^\s*(?:Theorem|Lemma|Proof\.|Require\s+Import|Inductive|Definition)\b")), ("Verilog", None)],
    ".d": [("Makefile", _rule(r"^\S+\.o\s*:")), ("D", None)],
    ".inc": [("PHP", _rule(r"<\?php")), ("Pascal", _rule(r"^\s*(?:procedure|function|unit)\b")), ("C", None)],
    ".cls": [("TeX", _rule(r"\\(?:ProvidesClass|NeedsTeXFormat)")), ("Apex", None)],
}


@dataclass(frozen=True)
class ProgrammingLanguage:
    """What a file is written in, how that was decided (extension | name | heuristic | shebang), and its kind."""

    name: str | None
    method: str | None = None
    kind: str = PROGRAMMING

    @property
    def known(self) -> bool:
        return self.name is not None


UNKNOWN = ProgrammingLanguage(None)


def identify(path: str, text: str = "") -> ProgrammingLanguage:
    """The language of the file at ``path`` (a name or a path) with content ``text`` (its head is enough)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    lower = name.lower()
    ext = "." + lower.rsplit(".", 1)[1] if "." in lower.strip(".") else ""
    if lower in _BY_NAME:
        language, kind = _BY_NAME[lower]
        return ProgrammingLanguage(language, "name", kind)
    if lower.split(".")[0] in _PROSE_STEMS and ext in ("", ".txt"):
        return ProgrammingLanguage("Text", "name", PROSE)
    head = text[:4096]
    if ext in _HEURISTICS:
        for language, rule in _HEURISTICS[ext]:
            if rule is None or rule.search(head):
                return ProgrammingLanguage(language, "heuristic", _KINDS.get(language, PROGRAMMING))
    if name in _lexer_file_names():  # Makefile, Dockerfile, CMakeLists.txt ...
        language = _by_pygments(name)
        if language is not None:
            return ProgrammingLanguage(language, "name", _KINDS.get(language, PROGRAMMING))
    if ext in _BY_EXTENSION:
        language, kind = _BY_EXTENSION[ext]
        return ProgrammingLanguage(language, "extension", kind)
    if ext:
        language = _by_pygments(f"x{ext}")
        if language is not None:
            return ProgrammingLanguage(language, "extension", _KINDS.get(language, PROGRAMMING))
    shebang = _SHEBANG.match(head)
    if shebang:
        interpreter = re.sub(r"[\d.]+$", "", shebang.group(1))
        if interpreter in _INTERPRETERS:
            return ProgrammingLanguage(_INTERPRETERS[interpreter], "shebang")
    return UNKNOWN


@lru_cache(maxsize=4096)
def _by_pygments(file_name: str) -> str | None:
    """pygments' language for a file name (cached per extension: the content does not enter here)."""
    from pygments.lexers import find_lexer_class_for_filename

    lexer = find_lexer_class_for_filename(file_name, "")
    return None if lexer is None else _RENAME.get(lexer.name, lexer.name)


@lru_cache(maxsize=1)
def _lexer_file_names() -> frozenset[str]:
    """Exact file names (no wildcard) in pygments' table: Makefile, Dockerfile, CMakeLists.txt, SConstruct ..."""
    from pygments.lexers._mapping import LEXERS

    return frozenset(f for *_, globs, _mimes in LEXERS.values() for f in globs if not any(c in f for c in "*?["))
