"""Licence of a source file, as an SPDX expression: its ``SPDX-License-Identifier`` header, else the licence text it
carries (a LICENSE/COPYING file, or a header comment quoting a well-known licence). A licence text alone does not
say ``-only`` or ``-or-later``, so the GNU licences found from their text are named by version (``GPL-2.0``).

Only the licence a file states about itself is recorded (``meta["license"]``, ``meta["license_source"]``): a
repository's LICENSE file is a document of its own, and carrying it to the files beside it needs the repository
grouping a code dataset provides (The Stack's ``repo_name``), not a path guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPDX = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+\-() ]+?)\s*(?:\*/|-->|#}|$)", re.MULTILINE)
HEAD_CHARS = 8192  # licence headers sit at the top; a LICENSE file's distinctive lines are in its first screens

# (SPDX id, phrase) in order of specificity: the first whose phrase occurs in the file's head names the licence
_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (spdx, re.compile(phrase, re.IGNORECASE | re.DOTALL))
    for spdx, phrase in (
        ("AGPL-3.0", r"GNU AFFERO GENERAL PUBLIC LICENSE\s+Version 3"),
        ("LGPL-3.0", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3"),
        ("LGPL-2.1", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1|Lesser General Public\s+License[^.]{0,80}"
                     r"version 2\.1"),
        ("LGPL-2.0", r"GNU LIBRARY GENERAL PUBLIC LICENSE\s+Version 2"),
        ("GPL-3.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 3|General Public License[^.]{0,80}version 3"),
        ("GPL-2.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 2|General Public License[^.]{0,80}version 2"),
        ("Apache-2.0", r"Apache License,?\s+Version 2\.0"),
        ("MPL-2.0", r"Mozilla Public License,?\s+(?:Version|v\.?)\s*2\.0"),
        ("EPL-2.0", r"Eclipse Public License\s*-?\s*v(?:ersion)?\s*2\.0"),
        ("Artistic-1.0-Perl OR GPL-1.0-or-later", r"under the same terms as Perl itself"),
        ("Artistic-2.0", r"The Artistic License 2\.0"),
        ("Unlicense", r"This is free and unencumbered software released into the public domain"),
        ("BSL-1.0", r"Boost Software License\s*-?\s*Version 1\.0"),
        ("ISC", r"Permission to use, copy, modify, and(?:/or)? distribute this software for any\s+purpose with or "
                r"without fee is hereby granted"),
        ("MIT", r"Permission is hereby granted, free of charge, to any person obtaining a copy"),
        ("BSD-3-Clause", r"Redistribution and use in source and binary forms.*Neither the name"),
        ("BSD-2-Clause", r"Redistribution and use in source and binary forms"),
        ("Zlib", r"This software is provided 'as-is', without any express or implied\s+warranty"),
        ("CC0-1.0", r"CC0 1\.0 Universal"),
        ("CC-BY-SA-4.0", r"Attribution-ShareAlike 4\.0 International"),
        ("CC-BY-4.0", r"Attribution 4\.0 International"),
        ("GFDL-1.3", r"GNU Free Documentation License\s+Version 1\.3"),
        ("GFDL-1.2", r"GNU Free Documentation License\s+Version 1\.2"),
        ("LPPL-1.3c", r"LaTeX Project Public License[^.]{0,60}1\.3c"),
        ("LPPL-1.3a", r"LaTeX Project Public License[^.]{0,60}1\.3a"),
        ("CDDL-1.1", r"COMMON DEVELOPMENT AND DISTRIBUTION LICENSE \(CDDL\)\s+Version 1\.1"),
        ("CDDL-1.0", r"COMMON DEVELOPMENT AND DISTRIBUTION LICENSE \(CDDL\)\s+Version 1\.0"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class License:
    spdx: str
    source: str  # spdx_header | license_text


def detect_license(text: str) -> License | None:
    """The licence ``text`` states, from its first ``HEAD_CHARS`` characters."""
    head = text[:HEAD_CHARS]
    found = _SPDX.search(head)
    if found:
        return License(found.group(1).strip(), "spdx_header")
    for spdx, phrase in _TEXTS:
        if phrase.search(head):
            return License(spdx, "license_text")
    return None
