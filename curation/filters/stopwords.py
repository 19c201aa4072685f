"""Small stop-word lists for Gopher's "contains real sentences" check, keyed by ISO 639-3.

Gopher requires at least two of a handful of English function words; the lists here extend that idea to the main
languages of the corpus with about twenty of the most frequent function words each. They are deliberately short: the
check only has to tell running prose from lists, tables and keyword spam, not remove stop words.
Entries are lowercase NFC, like the words they are compared with (text is NFC-normalised upstream). Chinese and
Japanese lists hold single characters because those scripts are split into one-character word units (see words.py).
Languages without a list skip the check.
"""

from __future__ import annotations

_LISTS: dict[str, str] = {
    "eng": "the be to of and that have with a in is it for on as was are this by not",
    "deu": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als",
    "fra": "de la le et les des en un une du est que pour qui dans pas sur au il ne",
    "spa": "de la que el en y a los se del las un por con no una su para es al",
    "ita": "di e il la che è per un in a non una sono del con le si da i gli",
    "por": "de a o que e do da em um para é com não uma os no se na por mais",
    "nld": "de het een en van in is dat op te zijn met voor niet die aan er om ook als",
    "rus": "и в не на я что с по это как а из для к у о от же но или",
    "ukr": "і в у на з що не до як це та за від для по й але про його він",
    "pol": "i w z na się nie do to że jest o jak a od po co przez tak dla ale",
    "ces": "a se na je v že to s z do o k i jako ale pro by jsou jeho tak",
    "tur": "ve bir bu da de için ile çok gibi daha ne o ama ki en olarak olan mi kadar sonra",
    "ara": "في من على إلى أن عن مع هذا هذه التي الذي ما لا كان و أو ثم قد هو هي",
    "fas": "و در به از که این را با است برای آن یک تا می بر هم نیز شد ها اند",
    "hin": "के का की है में और को से पर यह एक हैं भी लिए कि था नहीं तो ने हो",
    "ind": "yang dan di ke dari ini itu untuk dengan tidak dalam akan pada adalah juga atau ada oleh sebagai karena",
    "vie": "của và là có không được trong cho các những một này với người đã để khi từ như thì",
    "kor": "그리고 그 이 저 것 수 등 및 더 또는 그러나 하지만 때문에 위해 대한 있는 있다 하는 한다 같은",
    "jpn": "の に は を が で と も へ や か な た て し だ ね よ る",
    "zho": "的 了 是 在 不 和 有 也 就 这 這 我 他 们 們 都 与 與 而 及 或 被 将 將 对 對",
}

# Chinese varieties written with the same characters share the Chinese list.
_ALIASES = {"cmn": "zho", "yue": "zho", "wuu": "zho", "pes": "fas", "prs": "fas", "zsm": "ind", "msa": "ind"}

STOP_WORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _LISTS.items()}


def stop_words(lang: str) -> frozenset[str] | None:
    """Stop words for an ISO 639-3 code or a ``xxx_Scrp`` tag; None when there is no list (the check is skipped)."""
    iso = lang.split("_", 1)[0].lower()
    return STOP_WORDS.get(_ALIASES.get(iso, iso))
