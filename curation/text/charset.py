"""Bytes → text for input that is not (only) UTF-8: BOMs, UTF-16 without BOM, legacy 8-bit and CJK code pages.

Valid UTF-8 is always read as UTF-8. Bytes that are not are decoded with every legacy candidate (``CANDIDATES``:
the Windows, ISO-8859, KOI8, DOS, Mac and CJK code pages text was really written in); a candidate that yields C1
controls, private-use or unassigned characters is out. The rest are scored with a character model of real text:
``charset_profiles.tsv`` holds the counts of the non-ASCII characters of Django's translations in 82 languages
(65 of them in scripts a candidate can produce). A decoding's score is the log-likelihood of its non-ASCII
characters under its best language, plus penalties for word shapes that only wrong decodings make (``Frьchte``,
``уАмин``, ``Š 2004``). All candidates decode the same bytes, so their log-likelihoods compare directly; the gap
between the best decoding and the best *different* one is the evidence, in nats. Bytes are accepted only when the
best decoding reads like text of its language (``MAX_SURPRISE``) and beats every different decoding by
``MIN_MARGIN`` nats (decodings differing in under 1 % of the characters, e.g. windows-1252 vs iso-8859-15 over one
``€``, count as the same). Anything else is rejected with both candidates in the detail: a wrong guess would put
mojibake into the corpus, a rejection is visible.

Detection is per *document* (a text file) or per *file* (``file_encoding``: a JSONL source in a legacy encoding is
detected once from all its undecodable lines), never per JSONL line, where 40 bytes are too little evidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from curation.text.normalize import DecodeError
from curation.text.scripts import char_script

# (Python codec, label recorded in meta, log prior in nats). Order breaks exact ties: the more common code page first.
CANDIDATES: tuple[tuple[str, str, float], ...] = (
    ("cp1252", "windows-1252", 0.0),
    ("cp1251", "windows-1251", 0.0),
    ("cp1250", "windows-1250", 0.0),
    ("gb18030", "gb18030", 0.0),
    ("cp932", "shift_jis", 0.0),
    ("cp949", "euc-kr", 0.0),
    ("cp950", "big5", 0.0),
    ("euc_jp", "euc-jp", 0.0),
    ("koi8_r", "koi8-r", 0.0),
    ("cp1256", "windows-1256", 0.0),
    ("cp1253", "windows-1253", 0.0),
    ("cp1254", "windows-1254", 0.0),
    ("cp1255", "windows-1255", 0.0),
    ("cp1257", "windows-1257", 0.0),
    ("cp874", "windows-874", 0.0),
    ("iso8859_2", "iso-8859-2", 0.0),
    ("iso8859_15", "iso-8859-15", -1.0),
    ("koi8_u", "koi8-u", -1.0),
    ("iso8859_5", "iso-8859-5", -1.0),
    ("cp866", "ibm866", -1.0),
    ("iso8859_7", "iso-8859-7", -1.0),
    ("iso8859_6", "iso-8859-6", -1.0),
    ("iso8859_8", "iso-8859-8", -1.0),
    ("cp1258", "windows-1258", -1.0),
    ("iso8859_16", "iso-8859-16", -2.0),
    ("mac_cyrillic", "x-mac-cyrillic", -2.0),
    ("mac_roman", "macintosh", -2.0),
)
_MULTIBYTE = frozenset({"gb18030", "cp932", "cp949", "cp950", "euc_jp"})

MIN_MARGIN = 3.0  # nats: the chosen decoding is >= e^3 ≈ 20 times likelier than any different one
MAX_SURPRISE = 1.8  # nats/char a decoding may score below its language's entropy and still be text: real text
# stays within 1.4 (1.7 under 40 non-ASCII chars), letter soup from 40+ random high bytes scores 1.9 and more below;
# under ~40 chars a unigram model cannot tell soup from text, and an unsupported code page that maps onto letters
# (ArmSCII-8 read as windows-1251) can pass
NEAR_SAME = 0.01  # decodings differing in at most this share of the non-ASCII chars count as the same reading
MAX_CONTROL_SHARE = 0.01  # C0 control bytes (not tab/newline/VT/FF/CR/SUB/ESC) above this share: binary, not text
SAMPLE_BYTES = 1 << 15  # bytes scored per candidate; the winner then decodes the whole input
MIN_EVIDENCE_BYTES = 1024  # a head with fewer non-ASCII bytes is replaced by non-ASCII lines from further on
SCAN_BYTES = 1 << 23  # ... found within this many bytes
PREFILTER_BYTES = 4096  # long inputs: every candidate on this much first, the best PREFILTER_KEEP on the sample
PREFILTER_KEEP = 6
SHAPE_CHARS = 4096  # word shapes are judged on the first chars only: they matter for short texts
ASCII_LOGP = -3.0  # log P of an ASCII char (≈ unigram entropy of text): a multi-byte decoding that reads ASCII-range
# bytes as trail bytes has that many fewer ASCII chars to explain than a single-byte one
MIXED_WORD_LOGP = math.log(1e-3)  # a Cyrillic/Greek/Hebrew/Arabic/Thai letter or mark glued to an ASCII letter
ODD_SHAPE_LOGP = math.log(1e-2)  # per odd word shape: a capital after a small letter (``уАмин``), a lone letter that
# is no one-letter word (``© 2004`` read as ``Š 2004``), a letter tripled, an inverted ``¿`` opening nothing
UNSEEN_P = 1e-7  # probability of a character no profile has

_BOMS = (  # (BOM, codec, label); UTF-32 LE before UTF-16 LE, whose BOM it starts with
    (b"\xef\xbb\xbf", "utf-8", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32le"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32be"),
    (b"\xff\xfe", "utf-16-le", "utf-16le"),
    (b"\xfe\xff", "utf-16-be", "utf-16be"),
)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f\x7f]")
_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH = bytes(range(0x80, 0x100))
_ASCII_RUN = re.compile("[\x00-\x7f]+")
# letters that stand alone as words (Romance à é ó ..., Slavic Cyrillic а б в ж и к о с у я і ї є, Greek ο η ή ω)
_ONE_LETTER_WORDS = frozenset("àáèéìíòóùúÀÈÉабвжикосуяіїєАБВЖИКОСУЯІЇЄοηήωΟΗΉΩ")


def _char_class(chars: Iterable[str]) -> str:
    return "".join(re.escape(ch) for ch in chars)


_BMP_ALPHA = [chr(i) for i in range(0xC0, 0x0E80) if unicodedata.category(chr(i))[0] in "LM"]
_LOWER = "a-z" + _char_class(ch for ch in _BMP_ALPHA if ch.islower())
_UPPER = _char_class(ch for ch in _BMP_ALPHA if ch.isupper())
_OTHER_LETTERS = _char_class(ch for ch in _BMP_ALPHA if ch >= "\u0370")  # Greek ... Thai: never inside Latin words
_LONE = _char_class(ch for ch in _BMP_ALPHA if ch < "\u0530" and ch.isalpha() and ch not in _ONE_LETTER_WORDS)
# each pattern starts with its rare, non-ASCII class so that the regex engine can skip ahead to it
_GLUED = re.compile(f"[{_OTHER_LETTERS}](?:(?<=[A-Za-z].)|(?=[A-Za-z]))")
# inside a word: a capital after a small letter (``уАмин``, ``żQué`` for ``¿Qué``), a small letter closing a run of
# capitals (``ИЕПв``)
_NONASCII_LOWER = _char_class(ch for ch in _BMP_ALPHA if ch.islower())
_CASE_FLIP = re.compile(f"[{_UPPER}](?<=[{_LOWER}].)|[{_NONASCII_LOWER}](?:(?<=[{_UPPER}]{{2}}.)|(?=[A-Z]))")
_LONE_LETTER = re.compile(f"[{_LONE}](?<!\\w.)(?!\\w)")
_TRIPLE = re.compile(f"([{_char_class(ch for ch in _BMP_ALPHA if ch < chr(0x530))}])\\1\\1")
_GLUED_GATE, _CASE_GATE, _LONE_GATE = (re.compile(f"[{c}]") for c in (_OTHER_LETTERS, _UPPER + _NONASCII_LOWER, _LONE))
_INVERTED = re.compile("[¿¡](?![^\\W\\d_]|[\"'«“‘])")  # Spanish ¿ ¡ open a question: a letter or quote follows
_TYPOGRAPHIC = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2010-\u203a\u20ac\u2122]")
_CJK_LANGS = ("ja", "ko", "zh_Hans", "zh_Hant")
_CJK_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Hang"})


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, with the encoding it was read in and how sure the reading is."""

    text: str
    encoding: str  # "utf-8", "utf-16le", "windows-1251", "shift_jis", ...
    margin: float = math.inf  # nats between this decoding and the best different one (inf: unambiguous)
    detail: str = ""


@dataclass(frozen=True)
class _Candidate:
    codec: str
    label: str
    text: str
    score: float  # total log-likelihood + penalties + prior, in nats
    mean: float  # mean log-probability per non-ASCII char under the best language
    lang: str
    counts: Counter[str]
    prior: float


# ----------------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class _Model:
    index: dict[str, int]  # char (either case) -> row of logp; unknown chars use row ``unseen``
    logp: np.ndarray  # (case-folded chars + 1, languages) log-probabilities
    langs: tuple[str, ...]
    entropy: dict[str, float]  # nats per char: the mean log-probability real text of the language scores, negated
    unseen: int


def _cjk_common(codec: str, leads: Iterable[int], trails: Iterable[int]) -> list[str]:
    """The characters a CJK standard puts in its frequent-use level (GB2312 level 1, Big5 common, JIS level 1...)."""
    out = []
    trails = list(trails)
    for lead in leads:
        for trail in trails:
            try:
                out.append(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                pass
    return out


def _fold(ch: str) -> str:
    """Case-folded char (one char only): letters are scored without case, which word shapes judge instead."""
    low = ch.lower()
    return low if len(low) == 1 else ch


def _main_script(counts: Counter[str]) -> str | None:
    scripts: Counter[str] = Counter()
    for ch, n in counts.items():
        script = char_script(ch)
        if script:
            scripts["CJK" if script in _CJK_SCRIPTS else script] += n
    return scripts.most_common(1)[0][0] if scripts else None


@cache
def _model() -> _Model:
    """Per-language log P(char) over non-ASCII chars: mostly the language's own counts, smoothed by the pooled
    counts of the languages written in the same script (letters) or of all languages (punctuation, symbols).

    Smoothing within the script keeps a letter the training text happened to miss (French ``À``) likely, and a
    letter of another script (an Arabic ``ہ`` for that ``À``) unlikely. CJK languages also mix in, uniformly, the
    frequent-use level of their legacy standard, so a correct decoding of Chinese full of characters Django never
    uses is still far likelier than the Han soup of a wrong one.
    """
    profiles: dict[str, Counter[str]] = {}
    table = resources.files("curation.text").joinpath("charset_profiles.tsv").read_text(encoding="utf-8")
    for line in table.splitlines():
        if not line or line.startswith("#"):
            continue
        lang, cells = line.split("\t")
        profiles[lang] = Counter({chr(int(h, 16)): int(n) for h, n in (cell.split(":") for cell in cells.split())})
    reachable = set()  # characters some single-byte candidate can produce
    for codec, _, _ in CANDIDATES:
        if codec not in _MULTIBYTE:
            reachable.update(bytes([b]).decode(codec, "ignore") for b in range(0x80, 0x100))
    reachable.discard("")
    langs = tuple(
        lang
        for lang, counts in sorted(profiles.items())
        if lang in _CJK_LANGS or sum(n for ch, n in counts.items() if ch in reachable) >= 0.5 * sum(counts.values())
    )
    big5_trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    common = {  # symbol/kana/Greek/Cyrillic rows and the frequent-use hanzi/kanji/hangul of each standard
        "zh_Hans": _cjk_common("gb2312", [*range(0xA1, 0xAA), *range(0xB0, 0xD8)], range(0xA1, 0xFF)),
        "zh_Hant": _cjk_common("cp950", [*range(0xA1, 0xA4), *range(0xA4, 0xC6)], big5_trails),
        "ja": _cjk_common("euc_jp", [*range(0xA1, 0xA9), *range(0xB0, 0xD0)], range(0xA1, 0xFF)),
        "ko": _cjk_common("euc_kr", [*range(0xA1, 0xAD), *range(0xB0, 0xC9)], range(0xA1, 0xFF)),
    }
    seen = {ch for lang in langs for ch in profiles[lang]} | {ch for cs in common.values() for ch in cs} | reachable
    chars = sorted({_fold(ch) for ch in seen})
    index = {ch: i for i, ch in enumerate(chars)}
    index.update({ch: index[_fold(ch)] for ch in seen | {ch.upper() for ch in seen if len(ch.upper()) == 1}
                  if _fold(ch) in index})  # fmt: skip
    own = np.zeros((len(chars) + 1, len(langs)))
    for j, lang in enumerate(langs):
        total = sum(profiles[lang].values())
        for ch, n in profiles[lang].items():
            own[index[ch], j] += n / total
    for j, lang in enumerate(langs):
        if lang in common:
            own[[index[ch] for ch in common[lang]], j] += 1 / len(common[lang])
            own[:, j] /= 2
    # typographic symbols real text uses and UI strings rarely do (©, °, ±, §, ½, €, ™ ...): a small uniform share;
    # not box drawing or math, which are what a wrong code page makes of letters
    symbols = sorted({index[ch] for ch in reachable if _TYPOGRAPHIC.match(ch)})
    own[symbols] += 0.02 / len(symbols)
    own /= own.sum(axis=0, keepdims=True)
    letter = np.array([unicodedata.category(ch)[0] in "LM" for ch in chars] + [False])
    pooled_all = own.mean(axis=1) * ~letter
    scripts = [_main_script(profiles[lang]) for lang in langs]
    probs = np.empty_like(own)
    for j, script in enumerate(scripts):
        same = [k for k, other in enumerate(scripts) if other == script]
        pooled_script = own[:, same].mean(axis=1) * letter
        probs[:, j] = 0.85 * own[:, j] + 0.15 * (pooled_script + pooled_all)
    logp = np.log(np.maximum(probs, UNSEEN_P))
    logp[len(chars), :] = math.log(UNSEEN_P)
    entropy = -(probs * logp).sum(axis=0)
    return _Model(index, logp, langs, dict(zip(langs, entropy.tolist(), strict=True)), len(chars))


# ------------------------------------------------------------------------------------------------------- detection


def _cut(raw: bytes, size: int) -> bytes:
    """The first ``size`` bytes at most, cut after a newline or space (never inside a multi-byte character)."""
    if len(raw) <= size:
        return raw
    cut = max(raw.rfind(b"\n", 0, size), raw.rfind(b" ", 0, size))
    return raw[: cut + 1] if cut > 0 else raw[:size]


def _sample(raw: bytes, size: int = SAMPLE_BYTES) -> bytes:
    """At most ``size`` bytes of evidence: the head of the input, unless it holds little non-ASCII text (a long
    ASCII preamble, as in a TeX file); then the lines that do hold some, from anywhere in the first ``SCAN_BYTES``.
    ASCII-only lines say nothing about the encoding.
    """
    head = _cut(raw, size)
    if len(head) == len(raw) or len(head) - len(head.translate(None, _HIGH)) >= MIN_EVIDENCE_BYTES:
        return head
    lines, total = [], 0
    for line in raw[:SCAN_BYTES].split(b"\n"):
        if total >= size:
            break
        if not line.isascii():
            lines.append(line)
            total += len(line) + 1
    return b"\n".join(lines) if lines else head


@lru_cache(maxsize=1 << 14)
def _is_junk(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Co", "Cn", "Cs") or ch == "\ufffd"


def _lm(codec: str, label: str, prior: float, text: str, trail: int) -> _Candidate | None:
    """Language-model part of the score: best language's log-likelihood of the non-ASCII chars, or None if junk."""
    model = _model()
    counts = Counter(_ASCII_RUN.sub("", text))
    n = sum(counts.values())
    if n == 0 or sum(k for ch, k in counts.items() if _is_junk(ch)) > n / 1000:
        return None
    unseen = model.unseen
    rows = [model.index.get(ch, unseen) for ch in counts]
    per_lang = np.asarray(list(counts.values()), dtype=np.float64) @ model.logp[rows]
    best = int(per_lang.argmax())
    score = float(per_lang[best]) - trail * ASCII_LOGP + prior
    return _Candidate(codec, label, text, score, float(per_lang[best]) / n, model.langs[best], counts, prior)


def _odd_shapes(text: str, chars: Iterable[str]) -> float:
    """Log-penalty for word shapes wrong decodings make: a Cyrillic/Greek/Hebrew/Arabic/Thai letter glued to an ASCII
    letter (``Frьchte``), a case change inside a word (``уАмин``, ``ИЕПв``), a lone letter that is no one-letter word
    (``© 2004`` read as ``Š 2004`` or ``й 2004``), a letter three times in a row (no-break spaces read as ``ааа``),
    a Spanish ``¿`` opening nothing (``Copyright ¿ 1996``).
    ``chars``: the distinct non-ASCII chars, to skip needless scans."""
    chars = "".join(chars)
    penalty = 0.0
    if _GLUED_GATE.search(chars):
        penalty += len(_GLUED.findall(text)) * MIXED_WORD_LOGP
    if _CASE_GATE.search(chars):
        penalty += len(_CASE_FLIP.findall(text)) * ODD_SHAPE_LOGP
    if _LONE_GATE.search(chars):
        penalty += len(_LONE_LETTER.findall(text)) * ODD_SHAPE_LOGP
        penalty += len(_TRIPLE.findall(text)) * ODD_SHAPE_LOGP
    if "¿" in chars or "¡" in chars:
        penalty += len(_INVERTED.findall(text)) * ODD_SHAPE_LOGP
    return penalty


def _differing(a: Counter[str], b: Counter[str]) -> int:
    """Lower bound on the chars two decodings disagree on (multiset difference of their non-ASCII chars)."""
    return max(sum((a - b).values()), sum((b - a).values()))


def _candidates(sample: bytes, codecs: Iterable[tuple[str, str, float]] = CANDIDATES) -> list[_Candidate]:
    """Every candidate that decodes the sample cleanly, best first.

    Code pages that agree on the sample (windows-1252, -1254 and -1256 on most French) are scored once. Word shapes
    only lower a score, so they are judged in order of the language-model score and not at all for candidates
    already ``MIN_MARGIN`` below the best final score: those keep an upper bound, which cannot change the verdict.
    """
    ascii_bytes = len(sample.translate(None, _HIGH))
    scored: list[_Candidate] = []
    seen: dict[str, _Candidate | None] = {}
    for codec, label, prior in codecs:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if text in seen:
            first = seen[text]
            if first is not None:
                scored.append(replace(first, codec=codec, label=label, score=first.score - first.prior + prior))
            continue
        # trail bytes in the ASCII range that a multi-byte decoding consumed: ASCII chars it does not have to explain
        trail = max(0, ascii_bytes - (len(text) - len(_ASCII_RUN.sub("", text)))) if codec in _MULTIBYTE else 0
        cand = _lm(codec, label, prior, text, trail)
        seen[text] = cand
        if cand is not None:
            scored.append(cand)
    scored.sort(key=lambda c: -c.score)
    best = -math.inf
    shaped: dict[str, float] = {}
    for i, cand in enumerate(scored):
        if cand.score < best - MIN_MARGIN:
            break
        if cand.text not in shaped:
            shaped[cand.text] = _odd_shapes(cand.text[:SHAPE_CHARS], cand.counts)
        scored[i] = replace(cand, score=cand.score + shaped[cand.text])
        best = max(best, scored[i].score)
    return sorted(scored, key=lambda c: -c.score)


def _ranked(raw: bytes) -> tuple[bytes, list[_Candidate]]:
    """Candidates ranked on the sample; on long inputs a first pass over 4 KB keeps the best ``PREFILTER_KEEP``.

    A first pass drops only decodings that are already hopeless on 4 KB (Han soup, C1 controls); the runner-up
    that decides the margin stays in.
    """
    sample = _sample(raw)
    head = _cut(sample, PREFILTER_BYTES)
    if len(head) == len(sample) or len(head) - len(head.translate(None, _HIGH)) < 64:
        return sample, _candidates(sample)
    keep = {c.codec for c in _candidates(head)[:PREFILTER_KEEP]}
    return sample, _candidates(sample, [c for c in CANDIDATES if c[0] in keep])


def _describe(c: _Candidate) -> str:
    return f"{c.label} ({c.lang}, {c.mean:.1f} nats/char)"


def detect_legacy(raw: bytes) -> Decoded:
    """The one convincing legacy decoding of ``raw`` (bytes that are not UTF-8), or DecodeError("undecodable")."""
    sample, ranked = _ranked(raw)
    if not ranked:
        raise DecodeError("undecodable", "no legacy encoding decodes it without control or unassigned characters")
    best = ranked[0]
    if best.mean < -_model().entropy[best.lang] - MAX_SURPRISE:
        raise DecodeError("undecodable", f"no decoding looks like text; best {_describe(best)}")
    n = sum(best.counts.values())
    margin = math.inf
    for other in ranked[1:]:
        if other.text == best.text:
            continue
        diff = _differing(best.counts, other.counts)
        if diff <= NEAR_SAME * n and other.score < best.score:
            continue  # e.g. windows-1252 vs iso-8859-15 on text with one ¤/€: take the likelier, not reject
        margin = best.score - other.score
        if margin < MIN_MARGIN:
            raise DecodeError(
                "undecodable",
                f"ambiguous: {_describe(best)} vs {_describe(other)}, margin {margin:.1f} nats over {n} chars",
            )
        break
    try:
        text = best.text if len(sample) == len(raw) else raw.decode(best.codec)
    except UnicodeDecodeError as err:
        raise DecodeError("undecodable", f"{_describe(best)} on a sample, but byte {err.start} is not") from None
    return Decoded(text, best.label, margin, f"{_describe(best)}, margin {margin:.1f} nats over {n} chars")


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text without a BOM: NULs in (almost) every other byte of mostly-ASCII text."""
    head = raw[:4096]
    if len(head) < 8 or len(raw) % 2:
        return None
    even, odd = head[0::2].count(0) / (len(head) // 2), head[1::2].count(0) / (len(head) // 2)
    if odd >= 0.3 and even <= 0.02:
        return "utf-16-le"
    if even >= 0.3 and odd <= 0.02:
        return "utf-16-be"
    return None


def decode_bytes(raw: bytes, detect: bool = True) -> Decoded:
    """UTF-8 (BOM ok), UTF-16/32 (BOM, or UTF-16 recognised by its NULs), else the legacy detection.

    Raises DecodeError with reason ``binary_junk`` (NULs or control bytes), ``invalid_utf8`` (mostly UTF-8 with
    invalid sequences: corrupt or mixed, not a legacy encoding; also any non-UTF-8 input when ``detect`` is off)
    or ``undecodable`` (no legacy encoding is convincing).
    """
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            try:
                return Decoded(raw[len(bom) :].decode(codec), label, detail="byte order mark")
            except UnicodeDecodeError as err:
                reason = "invalid_utf8" if label == "utf-8" else "undecodable"
                raise DecodeError(reason, f"{label} byte order mark, but byte {err.start}: {err.reason}") from None
    if b"\x00" in raw:
        codec = _utf16_without_bom(raw)
        if codec is None:
            raise DecodeError("binary_junk", "NUL byte in text input")
        try:
            return Decoded(raw.decode(codec), codec.replace("16-", "16"), detail="UTF-16 without BOM (NUL pattern)")
        except UnicodeDecodeError as err:
            raise DecodeError("binary_junk", f"NUL bytes, and not {codec} either (byte {err.start})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        first_error = f"byte {err.start}: {err.reason}"
    else:
        if b"\x1b$" in raw and raw.isascii():  # 7-bit ISO-2022-JP: valid ASCII, Japanese behind escape sequences
            try:
                return Decoded(raw.decode("iso2022_jp"), "iso-2022-jp", detail="ISO-2022-JP escape sequences")
            except UnicodeDecodeError:
                pass
        return Decoded(text, "utf-8")
    controls = len(_CONTROL_BYTES.findall(raw[:SAMPLE_BYTES]))
    if controls > MAX_CONTROL_SHARE * min(len(raw), SAMPLE_BYTES):
        raise DecodeError("binary_junk", f"{controls} control bytes in the first {min(len(raw), SAMPLE_BYTES)}")
    high = min(len(raw), SAMPLE_BYTES) - len(raw[:SAMPLE_BYTES].translate(None, _HIGH))
    valid = sum(len(m) for m in _UTF8_SEQ.findall(raw[:SAMPLE_BYTES]))
    if not detect or valid >= 0.9 * high:
        raise DecodeError("invalid_utf8", f"{first_error}; {valid} of {high} non-ASCII bytes are valid UTF-8")
    return detect_legacy(raw)


# ------------------------------------------------------------------------------------------------- per-file (JSONL)


@dataclass(frozen=True)
class FileEncoding:
    """How the lines of one file are to be read: UTF-8, one legacy encoding, or none (``encoding`` None)."""

    encoding: str | None  # a label from CANDIDATES, "utf-8", or None when the legacy lines are undecodable
    codec: str | None
    detail: str


_LABEL_CODEC = {label: codec for codec, label, _ in CANDIDATES} | {"iso-2022-jp": "iso2022_jp"}


def codec_for(label: str) -> str:
    """Python codec behind an encoding label recorded in meta (``windows-1251`` → ``cp1251``)."""
    return _LABEL_CODEC.get(label, label)


def file_encoding(lines: Iterable[bytes], max_sample: int = 1 << 18) -> FileEncoding:
    """Decide once per file: UTF-8 unless at least 90 % of its non-ASCII lines are invalid UTF-8 and those lines,
    together, read convincingly in one legacy encoding.

    A file with a few invalid lines among valid UTF-8 ones is a corrupt or mixed UTF-8 file: its invalid lines are
    rejected, not guessed one by one.
    """
    valid = invalid = 0
    sample: list[bytes] = []
    size = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
            if size < max_sample:
                sample.append(line)
                size += len(line) + 1
    counts = f"{invalid} of {valid + invalid} non-ASCII lines invalid UTF-8"
    if invalid == 0 or invalid < 0.9 * (valid + invalid):
        return FileEncoding("utf-8", "utf-8", counts)
    try:
        decoded = detect_legacy(b"\n".join(sample))
    except DecodeError as err:
        return FileEncoding(None, None, f"{counts}; {err.detail}")
    return FileEncoding(decoded.encoding, codec_for(decoded.encoding), f"{counts}; {decoded.detail}")
