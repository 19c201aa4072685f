"""Licence detection on the sample's real licence texts and source headers."""

from __future__ import annotations

import json
from pathlib import Path

from curation.code.licenses import detect_license

ROOT = Path(__file__).resolve().parents[3]


def test_the_spdx_licence_texts_of_the_sample_are_named():
    rows = [json.loads(line) for line in (ROOT / "data" / "sample" / "text" / "licenses.jsonl").open(encoding="utf-8")]
    spdx = {r["id"].removeprefix("spdx/"): r["text"] for r in rows if r["id"].startswith("spdx/")}
    assert len(spdx) >= 15
    for expected, text in spdx.items():
        found = detect_license(text)
        assert found is not None and found.source == "license_text", expected
        family = expected.removesuffix("-only").removesuffix("-or-later")  # the text alone cannot tell
        assert found.spdx == family, (expected, found)


def test_headers():
    assert detect_license("// SPDX-License-Identifier: MIT OR Apache-2.0\nfn main() {}\n").spdx == "MIT OR Apache-2.0"
    assert detect_license("/* SPDX-License-Identifier: GPL-2.0-only */\nint x;\n").spdx == "GPL-2.0-only"
    perl = (ROOT / "data" / "sample" / "code" / "perl" / "I18N" / "LangTags" / "Detect.pm").read_text(encoding="utf-8")
    assert detect_license(perl).spdx == "Artistic-1.0-Perl OR GPL-1.0-or-later"
    go = ROOT / "data" / "sample" / "code" / "go" / "src" / "cmd" / "vendor" / "golang.org" / "x" / "arch" / "LICENSE"
    assert detect_license(go.read_text(encoding="utf-8")).spdx == "BSD-3-Clause"
    assert detect_license("x = 1\n") is None
