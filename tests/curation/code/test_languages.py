"""Programming language ID on real files: the sample's sources, this Python's stdlib, Debian's Perl modules."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from curation.code.languages import DATA, PROGRAMMING, PROSE, identify

ROOT = Path(__file__).resolve().parents[3]
CODE = ROOT / "data" / "sample" / "code"
PERL = [Path(p) for p in ("/usr/share/perl/5.36.0", "/usr/share/perl/5.36", "/usr/share/perl5") if Path(p).is_dir()]


def test_the_sample_sources_are_named():
    expected = {
        "go/src/sort/sort.go": "Go", "rust/library/core/src/num/shells/u8.rs": "Rust",
        "perl/I18N/LangTags/Detect.pm": "Perl", "python/django/utils/html.py": "Python",
        "python/django/contrib/admin/static/admin/js/SelectBox.js": "JavaScript",
        "python/django/contrib/admin/static/admin/js/vendor/jquery/LICENSE.txt": "Text",
        "go/src/cmd/vendor/golang.org/x/arch/LICENSE": "Text",
    }  # fmt: skip
    for rel, language in expected.items():
        found = identify(rel, (CODE / rel).read_text(encoding="utf-8"))
        assert found.name == language, rel
    assert identify("go/LICENSE").kind == PROSE and identify("x/sort.go").kind == PROGRAMMING


def test_every_stdlib_module_is_python():
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    assert len(files) > 100
    assert {identify(str(f), f.read_text(encoding="utf-8", errors="replace")).name for f in files} == {"Python"}


@pytest.mark.skipif(not PERL, reason="no Perl library on this machine")
def test_perl_modules_are_perl_not_prolog():
    """pygments alone calls a third of Debian's .pl/.pm Perl files Prolog or Promela; the extension rules do not."""
    files = [f for root in PERL for f in root.rglob("*.p[lm]")][:500]
    names = [identify(str(f), f.read_text(encoding="utf-8", errors="replace")).name for f in files]
    assert len(files) >= 50 and names.count("Perl") / len(names) >= 0.99


def test_shared_extensions_follow_the_content():
    assert identify("x.pl", "my $x = 1;\nprint $x;\n").name == "Perl"
    assert identify("x.pl", "parent(tom, bob).\nancestor(X, Y) :- parent(X, Y).\n").name == "Prolog"
    assert identify("x.h", "namespace a {\ntemplate <typename T> class V;\n}\n").name == "C++"
    assert identify("x.h", "@interface Foo : NSObject\n@end\n").name == "Objective-C"
    assert identify("x.h", "int f(void);\n").name == "C"
    assert identify("x.m", "function y = f(x)\n  y = x;\nend\n").name == "MATLAB"
    assert identify("x.v", "Theorem t : True.\nProof. trivial. Qed.\n").name == "Coq"
    assert identify("x.v", "module m(input a);\nendmodule\n").name == "Verilog"


def test_names_shebangs_and_data():
    assert identify("build/Makefile").name == "Makefile" and identify("Dockerfile").name == "Dockerfile"
    assert identify("CMakeLists.txt").name == "CMake" and identify("notes.txt").name == "Text"
    assert identify("bin/tool", "#!/usr/bin/env python3\nprint(1)\n").method == "shebang"
    assert identify("bin/tool", "#!/bin/sh\necho hi\n").name == "Shell"
    assert identify("package-lock.json").name == "Lock file" and identify("go.sum").kind == DATA
    assert identify("table.csv").kind == DATA and identify("conf.yaml").kind == DATA
    assert identify("README.md").name == "Markdown" and identify("noext", "just words").name is None
