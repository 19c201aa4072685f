"""Secrets redaction: recall on real-format keys planted in real code, false positives on clean code (issue 18).

    python benchmarks/code_secrets.py [--files 300] [--seed 0]

Planted: one real-format credential per file (AWS access key ids, GitHub/GitLab/Slack/Stripe/SendGrid/PyPI/npm/
OpenAI tokens, JWTs, PEM private keys, basic-auth URLs; the shapes the providers publish, random characters) at a
random line of a real source file (Go, Rust, Perl, Python from the dev corpora), as a string assignment in that
language's syntax. Clean: the same files unplanted, where any secret found is a false positive.

Compared in one run: ``curation.code.redact.find_spans`` against detect-secrets' own line scanner
(``scan_line`` with its default plugins, entropy detectors included) on the same texts: recall, false-positive
files, and MB/s per core.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from multilingual_corpus import DEV  # noqa: E402

from curation.code.redact import find_spans  # noqa: E402

ALNUM = string.ascii_letters + string.digits


def _r(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def credential(kind: str, rng: random.Random) -> str:
    """A random credential of a provider's published shape."""
    upper = string.ascii_uppercase + string.digits
    b64 = ALNUM + "+/"
    shapes = {
        "aws": lambda: "AKIA" + _r(rng, 16, upper),
        "github": lambda: "ghp_" + _r(rng, 36),
        "gitlab": lambda: "glpat-" + _r(rng, 20),
        "slack": lambda: f"xoxb-{_r(rng, 12, string.digits)}-{_r(rng, 13, string.digits)}-{_r(rng, 24).lower()}",
        "stripe": lambda: "sk_live_" + _r(rng, 24),
        "sendgrid": lambda: f"SG.{_r(rng, 22)}.{_r(rng, 43)}",
        "pypi": lambda: "pypi-AgEIcHlwaS5vcmc" + _r(rng, 80),
        "openai": lambda: f"sk-{_r(rng, 20)}T3BlbkFJ{_r(rng, 20)}",
        "jwt": lambda: f"eyJhbGciOiJIUzI1NiJ9.eyJ{_r(rng, 30)}.{_r(rng, 43)}",
        "basic_auth": lambda: f"https://deploy:{_r(rng, 14)}@registry.internal/v2",
        "private_key": lambda: (
            "-----BEGIN RSA PRIVATE KEY-----\\n"
            + "\\n".join(_r(rng, 64, b64) for _ in range(4))
            + "\\n-----END RSA PRIVATE KEY-----"
        ),
    }
    return shapes[kind]()


SYNTAX = {".go": 'var plantedSecret = "{}"', ".rs": 'const PLANTED: &str = "{}";', ".pm": 'my $planted = "{}";',
          ".py": 'PLANTED = "{}"'}  # fmt: skip


def files(n: int, rng: random.Random) -> list[tuple[str, str]]:
    roots = [(DEV / "x" / "golang-1.19-src", ".go"), (DEV / "x" / "rust-src", ".rs"),
             (DEV / "x" / "perl-modules-5.36", ".pm"), (Path(sysconfig.get_path("stdlib")), ".py")]  # fmt: skip
    out = []
    for root, suffix in roots:
        paths = sorted(
            p for p in root.rglob(f"*{suffix}") if "site-packages" not in p.parts and "vendor" not in p.parts
        )
        for path in rng.sample(paths, min(n // len(roots), len(paths))):
            out.append((suffix, path.read_text(encoding="utf-8", errors="replace")))
    return out


def detect_secrets_finds(text: str) -> int:
    from detect_secrets.core.scan import scan_line

    return sum(1 for line in text.split("\n") for _ in scan_line(line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    clean = files(args.files, rng)
    kinds = ["aws", "github", "gitlab", "slack", "stripe", "sendgrid", "pypi", "openai", "jwt", "basic_auth",
             "private_key"]  # fmt: skip
    planted = []
    for i, (suffix, text) in enumerate(clean):
        kind = kinds[i % len(kinds)]
        value = credential(kind, rng)
        lines = text.split("\n")
        at = rng.randrange(len(lines) + 1)
        planted.append((kind, value, "\n".join([*lines[:at], SYNTAX[suffix].format(value), *lines[at:]])))
    mb = sum(len(t.encode()) for _, t in clean) / 1e6
    print(f"{len(clean)} real files ({mb:.1f} MB); one planted credential each, {len(kinds)} kinds")

    from detect_secrets.settings import default_settings

    print("\n| method | recall | missed kinds | clean files with a false positive | MB/s per core |")
    print("|---|---|---|---|---|")
    for label in ("ours (curation.code.redact)", "detect-secrets scan_line (default plugins)"):
        ours = label.startswith("ours")
        found, missed = 0, []
        with default_settings():
            for kind, value, text in planted:
                if ours:
                    at = text.find(value)  # found: a secret span inside the value (a URL loses its password)
                    hit = any(s < at + len(value) and e > at for s, e, k in find_spans(text) if k == "secret")
                else:
                    hit = detect_secrets_finds(SYNTAX[".py"].format(value)) > 0
                found += hit
                if not hit:
                    missed.append(kind)
            start = time.process_time()
            if ours:
                fp = sum(1 for _, text in clean if any(k == "secret" for _, _, k in find_spans(text)))
            else:
                fp = sum(1 for _, text in clean if detect_secrets_finds(text))
            rate = mb / max(time.process_time() - start, 1e-9)
        missed_kinds = ", ".join(sorted(set(missed))) or "-"
        print(f"| {label} | {found / len(planted):.3f} | {missed_kinds} | {fp} of {len(clean)} | {rate:.2f} |")


if __name__ == "__main__":
    main()
