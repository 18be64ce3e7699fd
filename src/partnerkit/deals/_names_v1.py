"""The company-name normalisation of customer keys, version 1: frozen.

`partnerkit.deals.customer_keys` writes ``v1:name:<COUNTRY>:<name>`` keys, and storage
keeps those keys in its claims beside `CUSTOMER_KEY_VERSION`. A key must come out
the same for as long as claims of its version exist, so this module keeps the
normalisation that version 1 was defined with, word for word, while
`partnerkit.deals._names` goes on improving the matching. Do not change it: a new
key format gets a new module, a new `CUSTOMER_KEY_VERSION` and a claims migration in
every storage adapter. tests/deals/test_customer_keys_v1.py holds it to recorded keys.
"""

# The legal-form tables hold Cyrillic and Greek letters on purpose.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import Final

from partnerkit.errors import ValidationError

__all__ = ["normalize_v1"]

# --- Legal forms --------------------------------------------------------------------
#
# Written as people write them; each entry is tokenised by the same code that reads
# names, so "S.A. de C.V.", "S.A. DE C.V." and "SA de CV" all become one form. Four
# classes, because many forms are also ordinary words, names or acronyms:
#
# - _ANYWHERE: distinctive forms, removed wherever they stand ("Acme GmbH & Co. KG
#   Services", "ООО Ромашка", "PT Astra Tbk Persero").
# - _SUFFIX: short or ambiguous forms, removed only at the end, where legal forms
#   stand ("Co", "SA", "AG", "AS", "Limited", "Spa": a wellness spa is not a
#   società per azioni unless it ends the name; "SNC-Lavalin" keeps its "SNC").
# - _PREFIX: forms written in front of the name (Indonesian "PT", Vietnamese
#   "Công ty"), removed only at the start.
# - _EDGE: forms written in front in their own country and behind it elsewhere
#   (Latvian "SIA", Lithuanian "UAB"), removed at either end.
#
# Trailing and leading forms are stripped repeatedly, so "GmbH & Co. KG",
# "AB (publ)" and "Co., Ltd." go however they are combined.

_ANYWHERE_FORMS: Final = """
    inc | incorporated | corp | corporation | llc | l.l.c. | llp | lllp | pllc | ltd | plc
    p.l.c. | public limited company | limited liability company
    limited liability partnership | clg | teoranta
    pty ltd | pty limited | pty | (pty) ltd | pvt ltd | pvt | private limited
    pte ltd | pte | sdn bhd | sendirian berhad | berhad | bhd | soc ltd | ltée
    gmbh | ggmbh | mbh | ges.m.b.h. | gesmbh | gmbh & co. kg | gmbh & co. kgaa
    gmbh & co. ohg | ag & co. kg | kgaa | ohg | gbr | ug (haftungsbeschränkt)
    haftungsbeschränkt | aktiengesellschaft | gesellschaft mit beschränkter haftung
    kommanditgesellschaft
    sarl | s.à r.l. | s.a.r.l. | sasu | eurl | selarl | société anonyme
    société par actions simplifiée | société à responsabilité limitée | sprl | scrl
    bvba | c.v.b.a. | besloten vennootschap | naamloze vennootschap
    s.r.l. | srls | s.a.p.a. | scarl | società per azioni
    società a responsabilità limitata
    s.a. de c.v. | s.a.b. de c.v. | s.a.p.i. de c.v. | s. de r.l. de c.v. | s. de r.l.
    sociedad anónima | sociedad limitada | s.l.u. | s.a.u. | s.l.n.e. | s. coop.
    ltda | limitada | eireli | e.i.r.l. | sociedade anônima
    oy | oyj | ehf
    sp. z o.o. | sp. zoo | spółka z ograniczoną odpowiedzialnością | spółka akcyjna
    sp. j. | sp. k. | spółka jawna | spółka komandytowa
    s.r.o. | spol. s r.o. | spol. s.r.o. | v.o.s.
    kft | zrt | nyrt | kkt
    ood | eood | оод | еоод | еад
    d.o.o. | d.o.o.e.l. | доо | dooel
    ε.π.ε. | α.ε. | ι.κ.ε.
    ltd. şti. | şti. | anonim şirketi | limited şirketi
    ооо | оао | зао | пао | нао | тоо | тов | пат | прат | одо | ooo
    общество с ограниченной ответственностью | акционерное общество
    публичное акционерное общество | закрытое акционерное общество
    открытое акционерное общество | товарищество с ограниченной ответственностью
    товариство з обмеженою відповідальністю
    kabushiki kaisha | kabushiki gaisha | yugen kaisha | godo kaisha | goshi kaisha
    chusik hoesa | jusik hoesa | yuhan hoesa
    tbk | persero
    tnhh | công ty tnhh | công ty cổ phần | jsc | pjsc
    pcl | public company limited
    fzco | fze | fz-llc | fzllc | wll | saoc | saog | qpsc
"""
_SUFFIX_FORMS: Final = """
    co | company | cos | co. ltd | limited | sa | s.a. | s/a | ag | a.g. | as | a/s | ab
    ad | a.d. | se | da | ans | ba | kb | hb | ks | k/s | ky | ay | tmi | osk | mb | hf
    sf | i/s | p/s | aps | asa | amba | a.m.b.a. | ivs | lda | vof
    spa | s.p.a. | sl | s.l. | sas | s.a.s. | sc | s.c. | scs | snc | s.n.c. | sca | sci
    secs | cv | c.v. | bv | b.v. | nv | n.v. | kg | k.g. | e.k. | e.v. | e.g. | ug | lp
    l.p. | pc | p.c. | na | n.a. | cc | nl | ae | oe | o.e. | ee | e.e. | epe | ike | dd
    d.d. | rt | bt | kk | k.k. | gk | publ | at | ат | ад | ead | gie | spc | bsc | uc
    pfa | a.ş. | sp.p. | cic | dac | teo | opc | npc | ulc | pbc
"""
# Written before the name in their countries, and after it elsewhere.
_EDGE_FORMS: Final = """
    sia | uab | oü | mtü | ип | ао | ат | ao | oao | zao | pao
"""
_PREFIX_FORMS: Final = """
    pt | p.t. | cv | ud | công ty | cong ty
"""

# Legal forms in scripts written without spaces (or with quote marks inside the form).
# They are cut out of the text before it is split into words; the longer forms come
# first so that 股份有限公司 goes whole rather than leaving 股份.
_CJK_FORMS: Final = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "株式会社",
    "有限会社",
    "合同会社",
    "合名会社",
    "合資会社",
    "有限公司",
    "股份公司",
    "(株)",
    "(有)",
    "(合)",
    "주식회사",
    "유한책임회사",
    "유한회사",
    "(주)",
    "(유)",
    "บริษัท",
    "จำกัด",
    "(มหาชน)",
    'בע"מ',
    "בע״מ",
    "ش.م.م",
    "ذ.م.م",
)
# 公司 ("company") alone is a legal suffix only at the end of a name.
_CJK_SUFFIX: Final = re.compile(r"公司\s*$")


# "and" in the languages partners write company names in. Mapped to "&" only between
# two words: a leading "Y" or "E" is an initial or a brand, not a conjunction.
_CONJUNCTIONS: Final = frozenset(
    {"and", "und", "et", "y", "e", "og", "och", "en", "ja", "i", "и", "ve", "και", "ir", "un"}
)
_ARTICLES: Final = frozenset({"the"})

# Letters that Unicode does not decompose into a base letter and a mark.
_LETTERS: Final = str.maketrans(
    {
        "æ": "ae",
        "ø": "o",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "ng",
        "ё": "е",
        "ſ": "s",
    }
)
# Apostrophes vanish ("McDonald's" is "mcdonalds"); joiners and + mean "and".
_APOSTROPHES: Final = str.maketrans(dict.fromkeys("'’‘`´ʼʹ′", ""))
_AND_SIGNS: Final = str.maketrans({"&": " & ", "+": " & ", "＆": " & "})
_ASCII_WORDS: Final = re.compile(r"([a-z0-9]+|&)([./])?")
_AFTER_DOT: Final = frozenset("./")
# Marks are stripped from Latin and Greek letters only: in other scripts (Cyrillic й,
# Devanagari vowel signs, Japanese dakuten) a mark changes the letter.
_STRIP_MARKS_BELOW: Final = 0x0400


def _fold(text: str) -> str:
    """Unicode-normalise, case-fold and strip accents from Latin and Greek letters."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    kept: list[str] = []
    base = 0
    for char in text:
        if unicodedata.combining(char):
            if base < _STRIP_MARKS_BELOW:
                continue
        else:
            base = ord(char)
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _words(text: str) -> list[tuple[str, bool]]:
    """Split folded text into words and "&"; each with whether a dot or slash follows it."""
    if text.isascii():
        return [(word, bool(dot)) for word, dot in _ASCII_WORDS.findall(text)]
    words: list[tuple[str, bool]] = []
    current: list[str] = []
    for char in text:
        # Letters, digits and marks (Thai vowels, Devanagari signs) make up words.
        if unicodedata.category(char)[0] in "LNM":
            current.append(char)
            continue
        if current:
            words.append(("".join(current), char in _AFTER_DOT))
            current = []
        if char == "&":
            words.append(("&", False))
    if current:
        words.append(("".join(current), False))
    return words


def _is_letter(word: str) -> bool:
    return len(word) == 1 and word != "&"


def _join_dotted(words: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Join each run of single letters that starts with a dotted one ("s.a.", "a/s").

    A run takes every single letter after its first, up to and including the first
    with no dot or slash after it; a run of one letter is left as it is.
    """
    dotted: list[tuple[str, bool]] = []
    index = 0
    while index < len(words):
        word, dot = words[index]
        if _is_letter(word) and dot:
            parts = [word]
            index += 1
            while index < len(words) and _is_letter(words[index][0]):
                parts.append(words[index][0])
                if not words[index][1]:
                    index += 1
                    break
                index += 1
            dotted.append(("".join(parts), False) if len(parts) > 1 else (word, True))
            continue
        dotted.append((word, dot))
        index += 1
    return dotted


def _merge_initials(words: list[tuple[str, bool]]) -> list[str]:
    """Join dotted and spaced single letters: "S.A." and "S A" are "sa", "A/S" is "as".

    Dotted runs are joined first, so "Sp. z o.o." becomes "sp z oo" (the "z" has
    no dot); then runs of two or more bare single letters join ("S A" is "sa").
    """
    if not any(len(word) == 1 and word != "&" for word, _ in words):
        return [word for word, _ in words]
    merged: list[str] = []
    run: list[str] = []
    for word, _ in _join_dotted(words):
        if _is_letter(word) and word.isascii():
            run.append(word)
            continue
        if run:
            merged.append("".join(run))
            run = []
        merged.append(word)
    if run:
        merged.append("".join(run))
    return merged


def _tokens(text: str) -> list[str]:
    """Fold, cut CJK legal forms, split into words and join initials."""
    folded = _fold(text)
    if folded.isascii():
        # str.replace is several times faster than translate() with a dict table.
        for char in "'`":
            if char in folded:
                folded = folded.replace(char, "")
        for char in "&+":
            if char in folded:
                folded = folded.replace(char, " & ")
    else:
        folded = folded.translate(_APOSTROPHES)
        for form in _CJK_FORMS:
            if form in folded:
                folded = folded.replace(form, " ")
        folded = _CJK_SUFFIX.sub(" ", folded).translate(_AND_SIGNS)
    return _merge_initials(_words(folded))


# German and Estonian forms are also written without umlauts ("OUe", "beschraenkt").
_UMLAUT_SPELLINGS: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _form_table(text: str) -> frozenset[tuple[str, ...]]:
    forms = [form.strip() for form in text.replace("\n", "|").split("|")]
    spelled = [form.translate(_UMLAUT_SPELLINGS) for form in forms]
    return frozenset(tuple(_tokens(form)) for form in (*forms, *spelled) if form)


_ANYWHERE: Final = _form_table(_ANYWHERE_FORMS)
_EDGE: Final = _form_table(_EDGE_FORMS)
_SUFFIX: Final = _form_table(_SUFFIX_FORMS) | _EDGE | _ANYWHERE
_PREFIX: Final = _form_table(_PREFIX_FORMS) | _EDGE | _ANYWHERE
_LONGEST: Final = max(len(form) for form in _ANYWHERE | _SUFFIX | _PREFIX)


# The words legal forms end and start with, so most words are ruled out by one lookup.
_SUFFIX_ENDS: Final = frozenset(form[-1] for form in _SUFFIX)
_PREFIX_STARTS: Final = frozenset(form[0] for form in _PREFIX)
_ANYWHERE_STARTS: Final = frozenset(form[0] for form in _ANYWHERE)


def _strip_edges(words: list[str]) -> list[str]:
    """Remove legal forms, dangling "&" and "the" from both ends, repeatedly."""
    changed = True
    while changed and words:
        changed = False
        if words[-1] in _SUFFIX_ENDS:
            for size in range(min(_LONGEST, len(words)), 0, -1):
                if tuple(words[-size:]) in _SUFFIX:
                    del words[-size:]
                    changed = True
                    break
        if words and words[0] in _PREFIX_STARTS:
            for size in range(min(_LONGEST, len(words)), 0, -1):
                if tuple(words[:size]) in _PREFIX:
                    del words[:size]
                    changed = True
                    break
        while words and (words[-1] == "&" or words[-1] in _ARTICLES):
            words.pop()
            changed = True
        while words and (words[0] == "&" or words[0] in _ARTICLES):
            words.pop(0)
            changed = True
    return words


def _strip_inner(words: list[str]) -> list[str]:
    """Remove distinctive legal forms wherever they stand, longest first."""
    if not _ANYWHERE_STARTS.intersection(words):
        return words
    kept: list[str] = []
    index = 0
    while index < len(words):
        if words[index] in _ANYWHERE_STARTS:
            for size in range(min(_LONGEST, len(words) - index), 0, -1):
                if tuple(words[index : index + size]) in _ANYWHERE:
                    index += size
                    break
            else:
                kept.append(words[index])
                index += 1
        else:
            kept.append(words[index])
            index += 1
    return kept


def _one_pass(text: str) -> str:
    words = _tokens(text)
    for index in range(1, len(words) - 1):
        if words[index] in _CONJUNCTIONS:
            words[index] = "&"
    stripped = _strip_edges(_strip_inner(_strip_edges(list(words))))
    if not any(word != "&" for word in stripped):
        # Nothing but legal forms ("Limited", "AB"): the name is the form itself.
        stripped = _strip_edges_of_and(words)
    return " ".join(_collapse_ands(stripped))


def _collapse_ands(words: list[str]) -> list[str]:
    """The words with each run of "&" written once."""
    result: list[str] = []
    for word in words:
        if word == "&" and result and result[-1] == "&":
            continue
        result.append(word)
    return result


def _strip_edges_of_and(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    while start < end and words[start] == "&":
        start += 1
    while end > start and words[end - 1] == "&":
        end -= 1
    return words[start:end]


# Words that can make another pass change a name: forms, conjunctions, articles.
_TRIGGERS: Final = _SUFFIX_ENDS | _PREFIX_STARTS | _ANYWHERE_STARTS | _CONJUNCTIONS | _ARTICLES


def _settled(result: str) -> bool:
    """Whether another pass provably leaves ``result`` as it is.

    True for plain ASCII words with no legal form, conjunction or article among them
    and no two single letters side by side: folding, splitting and stripping such a
    name give it back unchanged. Anything else gets the passes.
    """
    if not result.isascii():
        return False
    words = result.split(" ")
    if _TRIGGERS.intersection(words):
        return False
    return not any(
        len(first) == 1 and len(second) == 1 and first != "&" and second != "&"
        for first, second in itertools.pairwise(words)
    )


@functools.lru_cache(maxsize=65536)
def normalize_v1(name: str) -> str:
    """The name part of a version-1 customer key (see the module docstring).

    Raises:
        ValidationError: If ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise ValidationError.single(
            "name", f"expected a company name string, got {type(name).__name__}"
        )
    result = _one_pass(name)
    if _settled(result):
        return result
    # A pass can expose a new edge (a form that was inside "the X Ltd Co" becomes the
    # last word), so run until nothing changes; two or three passes at most in practice.
    for _ in range(8):
        again = _one_pass(result)
        if again == result:
            break
        result = again
    return result
