"""Secrets and PII redaction for source code: keys and tokens, e-mail addresses, public IP addresses.

Keys and tokens are found with detect-secrets' own patterns (its maintained detectors for AWS, GitHub, GitLab, Slack,
Stripe, OpenAI, PyPI, npm, JWT, private keys ...), run as compiled regexes over the whole text: detect-secrets'
line scanner costs ~0.35 ms per line, and its entropy detectors flag every identifier in code. Two detectors are
left out for their false positives on code (Artifactory's ``AP[0-9A-F]...`` matches upper-case identifiers; the
keyword detector fires on ``password = get_password()``), and a private key is redacted from its BEGIN to its END
line, not only its header (a header without a block, as in code that parses keys, is left alone). A match is
replaced by a placeholder (``<SECRET>``, ``<EMAIL>``, ``<IP_ADDRESS>``) in the stored text: the original span is
never written anywhere, only the count per kind.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

PLACEHOLDERS = {"secret": "<SECRET>", "email": "<EMAIL>", "ip_address": "<IP_ADDRESS>"}
_SKIPPED_DETECTORS = frozenset({"ArtifactoryDetector", "IPPublicDetector", "PrivateKeyDetector"})
# detectors whose pattern carries context (a key name, a URL) around the secret: only group 1 is the secret
_VALUE_GROUP = frozenset({"BasicAuthDetector", "CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector",
                          "SoftlayerDetector", "NpmDetector", "AWSKeyDetector"})  # fmt: skip
# slow keyword detectors of single vendors run only where the vendor is named (they scan ~1 MB/s each otherwise)
_GATES = {"IbmCosHmacDetector": "ibm", "IbmCloudIamDetector": "iam", "SoftlayerDetector": "softlayer",
          "CloudantDetector": "cloudant"}  # fmt: skip
_KEY_LINE = r"(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
# a whole block, BEGIN to END (a header alone, as in code that looks for one, is not a key and is left as written)
_PRIVATE_KEY = re.compile(rf"-----BEGIN {_KEY_LINE}(?:(?!-----(?:BEGIN|END))[\s\S]){{0,20000}}?-----END {_KEY_LINE}")
_NUCLEOTIDES = frozenset("ACGTUN")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=")
_JWT_CHARS = _TOKEN_CHARS | {"."}
_KEY_BODY = re.compile(r"[A-Za-z0-9+/]{40}")  # a key's base64 lines (64 characters in PEM): not code between markers
_EMAIL = re.compile(r"(?<![\w.+:/-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_VERSION_BEFORE = re.compile(r"(?:\bv|\bversion|\bver\.?|\brelease|@)[\s=:\"']*$", re.IGNORECASE)
# documentation and example addresses are not personal data (RFC 2606 names, RFC 5737 networks are not global)
_EXAMPLE_DOMAINS = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|example|test|invalid|localhost)$", re.I)


@dataclass(frozen=True)
class _Detector:
    name: str
    pattern: re.Pattern[str]
    value_group: bool


@lru_cache(maxsize=1)
def _detectors() -> tuple[_Detector, ...]:
    """detect-secrets' regex detectors (its plugin classes' ``denylist``), minus the noisy ones."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    out = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if not issubclass(cls, RegexBasedDetector) or cls.__name__ in _SKIPPED_DETECTORS:
            continue
        for pattern in cls().denylist:
            out.append(_Detector(cls.__name__, pattern, cls.__name__ in _VALUE_GROUP and pattern.groups > 0))
    return tuple(out)


def find_spans(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans to redact, in order."""
    spans: list[tuple[int, int, str]] = [
        (m.start(), m.end(), "secret") for m in _PRIVATE_KEY.finditer(text) if _KEY_BODY.search(m.group())
    ]
    lower = text.lower()
    for det in _detectors():
        if det.name in _GATES and _GATES[det.name] not in lower:
            continue
        for m in det.pattern.finditer(text):
            if det.value_group and m.lastindex:
                start, end = m.span(1)
            else:  # a token goes whole: some patterns stop early (the JWT one is lazy: its signature would stay)
                start, end = m.span()
                chars = _JWT_CHARS if det.name == "JwtTokenDetector" else _TOKEN_CHARS
                while end < len(text) and text[end] in chars:
                    end += 1
            if end > start and not _NUCLEOTIDES.issuperset(text[start:end]):  # ACCA + 16 of ACGT: a DNA string
                spans.append((start, end, "secret"))
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _EXAMPLE_DOMAINS.search(m.group()):
                spans.append((m.start(), m.end(), "email"))
    for m in _IPV4.finditer(text):
        if _is_public_address(text, m.start(), m.end()):
            spans.append((m.start(), m.end(), "ip_address"))
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:  # overlaps the previous span: one redaction covers both
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2] if prev[2] == "secret" else kind)
        else:
            merged.append((start, end, kind))
    return merged


def _is_public_address(text: str, start: int, end: int) -> bool:
    """A dotted quad that is a global IPv4 address and not part of a longer number or a version (``v1.2.3.4``)."""
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
    if before.isalnum() or before == "." or after[:1].isalnum() or (after[:1] == "." and after[1:].isdigit()):
        return False
    try:
        address = ipaddress.ip_address(text[start:end])
    except ValueError:  # 999.1.1.1
        return False
    return address.is_global and not _VERSION_BEFORE.search(text[max(0, start - 16) : start])


def redact(text: str) -> tuple[str, Counter[str]]:
    """The text with every secret, e-mail address and public IP address replaced by its placeholder, and the
    number of redactions per kind."""
    spans = find_spans(text)
    if not spans:
        return text, Counter()
    parts: list[str] = []
    pos = 0
    counts: Counter[str] = Counter()
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(PLACEHOLDERS[kind])
        counts[kind] += 1
        pos = end
    parts.append(text[pos:])
    return "".join(parts), counts
