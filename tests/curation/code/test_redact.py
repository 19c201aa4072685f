"""Secrets and PII redaction: planted real-format keys are found in real code, which still parses, and clean code
is left as written."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

from curation.code.redact import PLACEHOLDERS, find_spans, redact

ROOT = Path(__file__).resolve().parents[3]
CODE = ROOT / "data" / "sample" / "code"
# real formats (documented example values and the providers' published token shapes), never live credentials
PLANTED = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2c3D4e5F6g7H8i9J0" + "k1L2m3N4o5P6q7R8",
    "gitlab": "glpat-" + "x7Yz9AbCdEfGhIjKlMnO",
    "slack": "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "sendgrid": "SG." + "abcdefghijklmnopqrstuv" + "." + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq",
}


def test_planted_keys_in_real_code_are_redacted_and_the_code_still_parses():
    source = (CODE / "python" / "django" / "utils" / "html.py").read_text(encoding="utf-8")
    lines = source.split("\n")
    planted = [f'{name.upper()}_TOKEN = "{value}"' for name, value in PLANTED.items()]
    planted.append('DATABASE_URL = "postgres://admin:Zx81tQw4pLm0@db.internal:5432/app"')
    text = "\n".join(lines[:20] + planted + lines[20:])
    redacted, counts = redact(text)
    assert counts["secret"] == len(planted)
    for value in [*PLANTED.values(), "Zx81tQw4pLm0"]:
        assert value not in redacted
    assert "@db.internal:5432" in redacted  # only the password of the URL goes
    ast.parse(redacted)
    assert redacted.count(PLACEHOLDERS["secret"]) == len(planted)


def test_private_keys_go_whole_but_a_header_in_code_stays():
    body = "\n".join(["MIIEowIBAAKCAQEAwJ3s" + "q8Vb2LmX0n5T7k" * 4] * 3)
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    redacted, counts = redact(f'KEY = """{key}"""\nnext_line = 1\n')
    assert redacted == 'KEY = """<SECRET>"""\nnext_line = 1\n' and counts["secret"] == 1
    parser = 'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    end = "-----END RSA PRIVATE KEY-----"\n'
    assert redact(parser) == (parser, {})


def test_emails_and_public_addresses_but_not_examples_versions_or_private_networks():
    text = (
        "# Author: Jane Roe <jane.roe@gmail.com>, docs: admin@example.com\n"
        'SERVERS = ["93.184.216.34", "10.0.0.1", "192.168.1.20", "127.0.0.1"]\n'
        'VERSION = "1.2.3.4"  # not an address; v8.8.8.8 neither\n'
    )
    redacted, counts = redact(text)
    assert counts == {"email": 1, "ip_address": 1}
    assert "jane.roe@gmail.com" not in redacted and "admin@example.com" in redacted
    assert "93.184.216.34" not in redacted and "10.0.0.1" in redacted and '"1.2.3.4"' in redacted


def test_dna_is_not_an_aws_key():
    assert redact('PRIMER = "ACCATCTCTACCGGTTCGCTTTCACTGGAT"\n')[1] == {}


def test_clean_stdlib_code_has_no_secrets():
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    secrets = [(f.name, text[s:e]) for f in files for text in [f.read_text(encoding="utf-8", errors="replace")]
               for s, e, kind in find_spans(text) if kind == "secret"]  # fmt: skip
    assert len(files) > 100 and secrets == []
