"""Company name normalisation for conflict detection: case, accents, punctuation, legal forms.

Two levels live here:

- `normalize_company_name` (public through `partnerkit.deals`): a readable,
  idempotent key such as ``"nordic cloud"`` for ``"Nordic-Cloud Oy"``. Two names
  that normalise to the same text are an *exact* name match.
- `match_words` and `match_key` (private): the words fuzzy matching corrects
  slips in, and the same words folded further (transliteration of Cyrillic and
  Greek, ``ue``/``ü``/``u`` and similar spelling variants) into a key that no
  person should have to read.

Legal forms come from the table in `partnerkit.deals._legal_forms`, which says for
each jurisdiction where its forms may stand. Given the customer's country, the forms
of that country's own jurisdiction go wherever they stand ("AB Nordkraft" in Sweden
is "nordkraft"); without it, a short form that is also an acronym elsewhere is only
removed where it cannot be anything else (at the end: "AB Foods" keeps its "AB").
"""

# This module's job is other scripts: its tables hold Cyrillic, Greek and look-alike
# letters on purpose, which ruff's confusable-character rules would flag line by line.
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import TYPE_CHECKING, Final, NamedTuple

from partnerkit.deals._legal_forms import JURISDICTIONS, SCRIPT_FORMS, Placement
from partnerkit.deals._names_v1 import (
    _AND_SIGNS,
    _APOSTROPHES,
    _ARTICLES,
    _CJK_SUFFIX,
    _CONJUNCTIONS,
    _UMLAUT_SPELLINGS,
    _collapse_ands,
    _is_letter,
    _join_dotted,
    _strip_edges_of_and,
    _words,
)
from partnerkit.deals._names_v1 import _fold as fold_v1
from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "LEGAL_FORM_COUNT",
    "bulk_match_words",
    "bulk_normalize",
    "legal_forms_of",
    "match_key",
    "match_words",
    "normalize_company_name",
    "skeleton",
]

# The folding and word splitting of version 1 are still current: they are shared
# from the frozen module rather than kept twice, and a change here that must not
# move version-1 keys defines its own piece in this module.
_ADJACENT_SINGLES: Final = re.compile(r"(?:^| )[^ &] [^ &](?: |$)")


def _fold_table() -> dict[int, str]:
    """Each character of ASCII and of the Latin, Greek and Cyrillic blocks, folded alone.

    Only characters that fold alike alone and beside any other of the table are
    listed: no combining mark, nothing that Unicode composes with a neighbour.
    Every pair of them was folded both ways when the table was chosen, and
    tests/deals/test_names.py holds pairs and whole names to it.
    """
    table: dict[int, str] = {code: chr(code).lower() for code in range(0x80)}
    blocks = (
        range(0x80, 0x250),  # Latin-1 Supplement, Latin Extended-A and -B
        range(0x370, 0x530),  # Greek and Coptic, Cyrillic and its Supplement
        range(0x1E00, 0x1F00),  # Latin Extended Additional (Vietnamese)
        range(0x2000, 0x2070),  # General Punctuation
    )
    for code in itertools.chain.from_iterable(blocks):
        category = unicodedata.category(chr(code))
        if category[0] == "M" or category in {"Cc", "Cn", "Co", "Cs"}:
            continue
        folded = fold_v1(chr(code))
        if folded and unicodedata.combining(folded[0]):
            continue
        table[code] = folded
    return table


# Every character is in the table (ASCII too, so that `str.translate` never misses).
_FOLDED: Final = _fold_table()
# A character not in the table: the text takes the general fold.
_UNTABLED: Final = re.compile(
    "[^" + "".join(re.escape(chr(code)) for code in sorted(_FOLDED)) + "]"
)


def _class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(char) for char in sorted(chars)) + "]"


def _units(word: str, letter: str) -> re.Pattern[str]:
    """`_words` and `_merge_initials` as one regular expression, for an alphabet.

    ``word`` is the class of characters words are made of, ``letter`` of those
    that join when they stand alone side by side. A character standing alone
    joins the next one standing alone when a dot or slash follows it ("s.a.",
    "a/s"; "sp. z o.o." is "sp z oo"): a dotted run. Letters standing alone side
    by side join too ("s a"), unless a dotted run has taken one of them. The
    pattern finds whole words first, then such runs (with the dots and spaces
    between their letters, for the caller to drop), then a character alone.
    """
    gap = word.replace("[", "[^&", 1)
    alone = f"{word}(?<!{word}{word})(?!{word})"
    not_dotted = f"(?![./]{gap}*{word}(?!{word}))"
    dotted_run = f"{alone}(?:[./]{gap}*{alone})+"
    # A spaced run's first letter, were it dotted before one standing alone, would
    # have begun a dotted run: the alternative tried before this one.
    spaced_run = f"{letter}(?<!{word}{letter})(?!{word})(?:{gap}+{letter}(?!{word}){not_dotted})+"
    return re.compile(f"{word}{{2,}}|&|{dotted_run}|{spaced_run}|{word}")


_ASCII_WORD: Final = "[a-z0-9]"
_ASCII_UNITS: Final = _units(_ASCII_WORD, "[a-z]")
_ASCII_GAP: Final = re.compile("[^&a-z0-9]+")
# What text folded by the table can hold: the letters, digits and marks words are
# made of (as `_words` reads them), and the letters among them that join when spaced.
_TABLE_CHARS: Final = frozenset("".join(_FOLDED.values()))
_TABLE_WORD: Final = _class(char for char in _TABLE_CHARS if unicodedata.category(char)[0] in "LNM")
_TABLE_UNITS: Final = _units(
    _TABLE_WORD,
    _class(
        char
        for char in _TABLE_CHARS
        if unicodedata.category(char)[0] in "LNM" and char < "\u0530" and char.isalpha()
    ),
)
_TABLE_GAP: Final = re.compile(_TABLE_WORD.replace("[", "[^&", 1) + "+")


# Any legal form cut from text before it is split into words, 公司 at the end included.
_SCRIPT_FORM: Final = re.compile(
    "|".join(re.escape(form) for form in SCRIPT_FORMS) + "|" + _CJK_SUFFIX.pattern
)


def _fold(text: str) -> str:
    """Unicode-normalise, case-fold and strip accents from Latin and Greek letters.

    Text of ASCII, Latin, Greek and Cyrillic letters and common punctuation (nearly
    every name) is folded a character at a time from a table made once; anything
    else by `unicodedata`, as version 1 of the keys does.
    """
    if text.isascii():
        return text.lower()  # ASCII is its own NFKC form, and casefold is lower
    if _UNTABLED.search(text) is None:
        return text.translate(_FOLDED)
    return fold_v1(text)


# Words dropped from either end of a name wherever they come from.
_EDGE_WORDS: Final = _ARTICLES | {"&"}
# Spaced single letters join into one word in Latin, Greek and Cyrillic ("S A", "О О О");
# in other scripts a single character is often a whole word.
_SPACED_INITIALS_BELOW: Final = "\u0530"


def _merge_initials(words: list[tuple[str, bool]]) -> list[str]:
    """Join dotted and spaced single letters: "S.A." and "S A" are "sa", "A/S" is "as".

    As version 1 of the keys does (dotted runs first, then spaced ones), except
    that spaced letters of Greek and Cyrillic join too ("О О О") and digits do not.
    """
    if not any(len(word) == 1 and word != "&" for word, _ in words):
        return [word for word, _ in words]
    merged: list[str] = []
    run: list[str] = []
    for word, _ in _join_dotted(words):
        if _is_letter(word) and word < _SPACED_INITIALS_BELOW and word.isalpha():
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
    """Fold, cut script legal forms, split into words and join initials."""
    if text.isascii():
        return _ascii_tokens(text.lower())
    if _UNTABLED.search(text) is None:
        folded = text.translate(_FOLDED)
        if folded.isascii():
            return _ascii_tokens(folded)
        # No legal form of `SCRIPT_FORMS` is written in the table's letters.
        folded = folded.translate(_APOSTROPHES)
        if "+" in folded:
            folded = folded.replace("+", "&")
        return [
            word if word.isalnum() else _TABLE_GAP.sub("", word)
            for word in _TABLE_UNITS.findall(folded)
        ]
    return _general_tokens(text)


def _general_tokens(text: str) -> list[str]:
    """`_tokens` of any text, by `unicodedata` and loops over characters and words.

    The way every name was read before the table and the single scan, kept for
    text outside the table (Chinese, Korean, Thai, combining marks...) and as
    the reference the fast ways are tested against.
    """
    folded = fold_v1(text).translate(_APOSTROPHES)
    if _SCRIPT_FORM.search(folded) is not None:
        for form in SCRIPT_FORMS:
            if form in folded:
                folded = folded.replace(form, " ")
        folded = _CJK_SUFFIX.sub(" ", folded)
    return _merge_initials(_words(folded.translate(_AND_SIGNS)))


def _ascii_tokens(folded: str) -> list[str]:
    """`_tokens` of folded ASCII text: the words and initials read in one scan in C."""
    if "'" in folded or "`" in folded:
        folded = folded.replace("'", "").replace("`", "")
    if "+" in folded:
        folded = folded.replace("+", "&")
    words: list[str] = _ASCII_UNITS.findall(folded)
    if "".join(words).isalnum():
        return words  # no run of initials, no "&" (most names)
    return [word if word.isalnum() else _joined(word) for word in words]


def _joined(unit: str) -> str:
    """A run of initials as one word ("s.a." is "sa"); "&" as it is."""
    # Dots and spaces are nearly all that stands between initials.
    joined = unit.replace(".", "").replace(" ", "")
    return joined if joined.isalnum() else _ASCII_GAP.sub("", unit)


# --- Legal-form tables -----------------------------------------------------------

# German and Estonian forms are also written without umlauts ("OUe", "beschraenkt"):
# `_UMLAUT_SPELLINGS`.
Form = tuple[str, ...]


def _spellings(text: str) -> list[str]:
    return [spelling.strip() for spelling in text.split("|") if spelling.strip()]


# Forms written as one word only by running a form's words together ("coltd", "spk"):
# known, but too unlike a word to guess a misspelling of.
_RUN_TOGETHER: set[str] = set()


def _tokenised(spelling: str) -> set[Form]:
    """A spelling as the words names are split into, with and without umlauts spelled out.

    A form of several short words is also known run together: "Sp. k." is "spk" too.
    """
    forms = {
        tuple(_tokens(variant))
        for variant in (spelling, spelling.translate(_UMLAUT_SPELLINGS))
        if _tokens(variant)
    }
    joined = {
        "".join(form)
        for form in forms
        if len(form) > 1 and "&" not in form and all(len(word) <= 3 for word in form)
    }
    _RUN_TOGETHER.update(joined)
    forms |= {(word,) for word in joined}
    # "GmbH und Co. KG" and "GmbH and Co KG" are "GmbH & Co. KG".
    forms |= {
        tuple(conjunction if word == "&" else word for word in form)
        for form in forms
        if "&" in form
        for conjunction in _CONJUNCTIONS
    }
    return forms


def legal_forms_of(placement: Placement, code: str) -> list[str]:
    """The spellings the table lists for one jurisdiction and placement (for tests and docs)."""
    for jurisdiction in JURISDICTIONS:
        if jurisdiction.code == code:
            return _spellings(jurisdiction.forms.get(placement, ""))
    msg = f"no jurisdiction {code!r} in the legal-form table"
    raise KeyError(msg)


def _build_tables() -> tuple[dict[str, frozenset[Form]], dict[str, frozenset[Form]]]:
    """Forms by placement over every jurisdiction, and each country's own forms."""
    by_placement: dict[str, set[Form]] = {"any": set(), "edge": set(), "start": set()}
    by_placement |= {"end": set(), "word": set()}
    own: dict[str, set[Form]] = {}
    for jurisdiction in JURISDICTIONS:
        for placement, text in jurisdiction.forms.items():
            forms: set[Form] = set()
            for spelling in _spellings(text):
                forms |= _tokenised(spelling)
            by_placement[placement] |= forms
            if placement != "word":
                for country in jurisdiction.countries:
                    own.setdefault(country, set()).update(forms)
    return (
        {placement: frozenset(forms) for placement, forms in by_placement.items()},
        {country: frozenset(forms) for country, forms in own.items()},
    )


_BY_PLACEMENT, _OWN = _build_tables()
_ANY: Final = _BY_PLACEMENT["any"]
# Removed at the end, or at the start, of any name whatever its country.
_END: Final = _ANY | _BY_PLACEMENT["edge"] | _BY_PLACEMENT["end"] | _BY_PLACEMENT["word"]
_START: Final = _ANY | _BY_PLACEMENT["edge"] | _BY_PLACEMENT["start"]

#: How many distinct legal forms the normaliser knows (after tokenising the table).
LEGAL_FORM_COUNT: Final = len(_END | _START)


class _Rules(NamedTuple):
    """Which forms go where, for names of one country (or of no known country).

    ``at_end`` maps the last word of every form that may end a name to the sizes
    (in words, longest first) of such forms, so a name is checked with one
    dictionary look-up and a tuple or two; ``at_start`` and ``inside`` likewise
    from the first word.
    """

    end: frozenset[Form]
    start: frozenset[Form]
    middle: frozenset[Form]
    at_end: dict[str, tuple[int, ...]]
    at_start: dict[str, tuple[int, ...]]
    inside: dict[str, tuple[int, ...]]
    triggers: frozenset[str]
    """Words that can make another pass change a name."""


def _sizes(forms: frozenset[Form], *, last: bool) -> dict[str, tuple[int, ...]]:
    sizes: dict[str, set[int]] = {}
    for form in forms:
        sizes.setdefault(form[-1] if last else form[0], set()).add(len(form))
    return {word: tuple(sorted(found, reverse=True)) for word, found in sizes.items()}


def _rules_from(end: frozenset[Form], start: frozenset[Form], middle: frozenset[Form]) -> _Rules:
    # A one-word form that is also "and" somewhere ("OG" in Austria, "ET" in Bulgaria)
    # is read as "and" between two words.
    middle = frozenset(form for form in middle if form[0] not in _CONJUNCTIONS or len(form) > 1)
    at_end = _sizes(end, last=True)
    at_start = _sizes(start, last=False)
    inside = _sizes(middle, last=False)
    return _Rules(
        end,
        start,
        middle,
        at_end,
        at_start,
        inside,
        frozenset(at_end) | frozenset(at_start) | frozenset(inside) | _CONJUNCTIONS | _ARTICLES,
    )


_GLOBAL_RULES: Final = _rules_from(_END, _START, _ANY)


@functools.cache
def _rules(country: str | None) -> _Rules:
    own = _OWN.get(country or "")
    if not own:
        return _GLOBAL_RULES
    return _rules_from(_END | own, _START | own, _ANY | own)


def _strip_edges(words: list[str], rules: _Rules) -> list[str]:
    """Remove legal forms, dangling "&" and "the" from both ends, repeatedly."""
    at_end = rules.at_end
    at_start = rules.at_start
    # A size of one needs no look-up: a word has it only if it is a form on its own.
    while words:
        last = words[-1]
        first = words[0]
        if (
            last not in at_end
            and first not in at_start
            and last not in _EDGE_WORDS
            and first not in _EDGE_WORDS
        ):
            return words
        changed = False
        sizes = at_end.get(last)
        if sizes is not None:
            count = len(words)
            for size in sizes:
                if size == 1 or (size <= count and tuple(words[-size:]) in rules.end):
                    del words[-size:]
                    changed = True
                    break
            if not words:
                break
            first = words[0]
        sizes = at_start.get(first)
        if sizes is not None:
            count = len(words)
            for size in sizes:
                if size == 1 or (size <= count and tuple(words[:size]) in rules.start):
                    del words[:size]
                    changed = True
                    break
        while words and words[-1] in _EDGE_WORDS:
            words.pop()
            changed = True
        while words and words[0] in _EDGE_WORDS:
            del words[0]
            changed = True
        if not changed:
            break
    return words


def _strip_inner(words: list[str], rules: _Rules) -> list[str]:
    """Remove the forms that may stand anywhere, longest first."""
    inside = rules.inside
    if inside.keys().isdisjoint(words):
        return words
    middle = rules.middle
    kept: list[str] = []
    index = 0
    count = len(words)
    while index < count:
        word = words[index]
        sizes = inside.get(word)
        if sizes is not None:
            for size in sizes:
                if size == 1 or (
                    index + size <= count and tuple(words[index : index + size]) in middle
                ):
                    index += size
                    break
            else:
                kept.append(word)
                index += 1
        else:
            kept.append(word)
            index += 1
    return kept


def _one_pass(text: str, rules: _Rules) -> list[str]:
    """One pass of the normalisation: the words of ``text`` without its legal forms."""
    return _without_forms(_tokens(text), rules)


def _without_forms(words: list[str], rules: _Rules) -> list[str]:
    """``words`` without legal forms, "the" at an edge, and with "and" as "&"."""
    # Edges and whole forms first: a word exposed by a leading "The" or legal form
    # ("The JA Group", "AS ET Foods") is a first word, never read as "and", and the
    # "en" of "Société en nom collectif" is part of a form, not a conjunction.
    edged = _strip_edges(words.copy(), rules)
    stripped = _strip_inner(edged, rules)
    changed = len(stripped) != len(edged)
    if not _CONJUNCTIONS.isdisjoint(stripped):
        for index in range(1, len(stripped) - 1):
            if stripped[index] in _CONJUNCTIONS:
                stripped[index] = "&"
                changed = True
    # The edges were stripped until nothing changed: only a change inside can
    # give them something more to strip.
    inner = _strip_edges(stripped, rules) if changed else stripped
    if not inner:
        # Nothing but legal forms ("Limited", "Sia S.r.l."): keep the first word.
        inner = _strip_keeping_one(words, rules)
    if "&" in inner:
        inner = _collapse_ands(inner)
    return inner


def _strip_keeping_one(words: list[str], rules: _Rules) -> list[str]:
    """Remove trailing, then leading, legal forms as long as a word remains."""
    words = _strip_edges_of_and(words)
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in rules.at_end.get(words[-1], ()):
            if size < len(words) and tuple(words[-size:]) in rules.end:
                words = _strip_edges_of_and(words[:-size])
                changed = True
                break
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in rules.at_start.get(words[0], ()):
            if size < len(words) and tuple(words[:size]) in rules.start:
                words = _strip_edges_of_and(words[size:])
                changed = True
                break
    return words


def _settled(words: list[str], result: str, rules: _Rules) -> bool:
    """Whether another pass provably leaves ``result`` (``words`` joined) as it is.

    True for words with no legal form, conjunction or article among them and no
    two single letters side by side, which fold to themselves and hold no legal
    form of `SCRIPT_FORMS`: folding, splitting and stripping such a name give it
    back unchanged. Anything else gets the passes.
    """
    if not rules.triggers.isdisjoint(words):
        return False
    if 1 in map(len, words) and _ADJACENT_SINGLES.search(result):
        return False
    return result.isascii() or (_SCRIPT_FORM.search(result) is None and _fold(result) == result)


@functools.lru_cache(maxsize=65536)
def normalize_company_name(name: str, country: str | None = None) -> str:
    """Reduce a company name to the key that exact name matching compares.

    Case-folds; strips accents from Latin and Greek letters (``é`` is ``e``,
    ``ø`` is ``o``, ``ß`` is ``ss``); removes apostrophes; turns other punctuation
    into spaces; joins initials (``S.A.``, ``S A`` and ``SA`` are one word); writes
    ``&``, ``+`` and "and" in 15 languages (``and``, ``und``, ``et``, ``y``, ``og``,
    ``och``, ``и``...) between two words as ``&``; drops a leading or trailing
    "the"; removes the legal forms of more than 50 jurisdictions (`LEGAL_FORM_COUNT`
    forms in all, from ``Inc`` and ``GmbH & Co. KG`` to ``Sp. z o.o.``, ``SACIF``,
    ``ООО`` and ``株式会社``); and collapses whitespace.

    Distinctive forms (``GmbH``, ``LLC``, ``OJSC``, ``Aktiebolag``) go wherever they
    stand. Short forms that are also acronyms elsewhere (``AB``, ``AS``, ``SA``,
    ``AG``) go at the end of any name, and at the start or in the middle of names
    of their own country when ``country`` is given: "AB Nordkraft" is
    ``"nordkraft"`` in Sweden but ``"ab nordkraft"`` with no country, because "AB
    Foods" in Britain is a name. Forms that are also ordinary words (``Co``,
    ``Limited``, ``Spa``) go only at the end. A name that is nothing but a legal
    form is kept. The result is idempotent:
    ``normalize_company_name(normalize_company_name(x, c), c) == normalize_company_name(x, c)``.

    Args:
        name: The company name as written.
        country: The company's ISO 3166-1 alpha-2 country code, if known.

    Example:
        >>> normalize_company_name("Müller & Söhne GmbH & Co. KG")
        'muller & sohne'
        >>> normalize_company_name("AB Nordkraft", "SE"), normalize_company_name("AB Nordkraft")
        ('nordkraft', 'ab nordkraft')

    Raises:
        ValidationError: If ``name`` is not a string.
    """
    return _normalized(name, country)


def _normalized(name: str, country: str | None) -> str:
    """`normalize_company_name` without its cache (for bulk loads of unique names)."""
    if not isinstance(name, str):
        raise ValidationError.single(
            "name", f"expected a company name string, got {type(name).__name__}"
        )
    rules = _rules(country.upper() if isinstance(country, str) else None)
    words = _without_forms(_ascii_tokens(name.lower()) if name.isascii() else _tokens(name), rules)
    result = " ".join(words)
    if _settled(words, result, rules):
        return result
    # A pass can expose a new edge (a form that was inside "the X Ltd Co" becomes the
    # last word), so run until nothing changes; two or three passes at most in practice.
    for _ in range(8):
        again = " ".join(_one_pass(result, rules))
        if again == result:
            break
        result = again
    return result


# --- Fuzzy-matching tokens ---------------------------------------------------------

_CYRILLIC: Final = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "і": "i",
        "ї": "yi",
        "є": "ye",
        "ґ": "g",
        "ў": "u",
        "ј": "j",
        "љ": "lj",
        "њ": "nj",
        "ћ": "c",
        "ђ": "dj",
        "џ": "dz",
        "ѓ": "g",
        "ќ": "k",
        "ѕ": "dz",
        "α": "a",
        "β": "v",
        "γ": "g",
        "δ": "d",
        "ε": "e",
        "ζ": "z",
        "η": "i",
        "θ": "th",
        "ι": "i",
        "κ": "k",
        "λ": "l",
        "μ": "m",
        "ν": "n",
        "ξ": "x",
        "ο": "o",
        "π": "p",
        "ρ": "r",
        "σ": "s",
        "ς": "s",
        "τ": "t",
        "υ": "y",
        "φ": "f",
        "χ": "ch",
        "ψ": "ps",
        "ω": "o",
    }
)
# Spelling variants that transliteration and typing conventions produce for the same
# name: German ue/ü/u, Danish aa/å, Russian ks/x, kh/h, ye/e and y/j/i. Applied in
# order, to both names, so a fold can only make two names closer. (Doubled letters
# are left alone: a doubled letter is one edit, which fuzzy matching forgives.)
_VARIANTS: Final = (
    ("shch", "sh"),
    ("sch", "sh"),
    ("ye", "e"),
    ("j", "i"),
    ("ae", "a"),
    ("oe", "o"),
    ("ue", "u"),
    ("aa", "a"),
    ("ph", "f"),
    ("ck", "k"),
    ("kh", "h"),
    ("ks", "x"),
    ("zh", "z"),
    ("y", "i"),
)


def skeleton(text: str) -> str:
    """Text transliterated to Latin and folded for spelling variants ("müller" is "muller").

    Used on whole match keys, so folds work across word boundaries the same way
    whether a name was written "Nordic Kraft" or "NordicKraft".
    """
    if not text.isascii():
        text = text.translate(_CYRILLIC)
    for old, new in _VARIANTS:
        if old in text:
            text = text.replace(old, new)
    return text


@functools.lru_cache(maxsize=1 << 16)
def _near_legal_form(word: str, neighbours: frozenset[str]) -> bool:
    """Whether ``word`` is one typing slip away from a legal form ("Gbmh", "Limted", "Ltwd").

    Both sides lose one letter at most (the symmetric deletion test), which covers a
    missing, extra, wrong or swapped letter.
    """
    if len(word) < 4 or not word.isascii():
        return False
    if word in neighbours:
        return True
    # A deletion of the word begins with one of these four (the letter taken out
    # is past the third, the third, the second or the first): when no string of
    # ``neighbours`` begins so, none of the deletions is there (most words).
    starts = _STARTS[neighbours]
    if (
        word[:3] not in starts
        and word[:2] + word[3] not in starts
        and word[0] + word[2:4] not in starts
        and word[1:4] not in starts
    ):
        return False
    return not neighbours.isdisjoint(
        [word[:index] + word[index + 1 :] for index in range(len(word))]
    )


def _slip_forms(forms: frozenset[Form]) -> frozenset[str]:
    # Forms of five or more letters, and forms without a vowel (GmbH, Ltd, LLC, Pty):
    # other short forms are too close to ordinary words ("Alta" is one slip from
    # "Ltda", "Zinc" from "Inc") to be guessed at.
    slips = frozenset(
        word
        for word in (form[0] for form in forms if len(form) == 1)
        if word not in _RUN_TOGETHER
        and word.isascii()
        and word.isalpha()
        and (len(word) >= 5 or (len(word) >= 3 and not set(word) & set("aeiou")))
    )
    return slips | frozenset(
        form[:index] + form[index + 1 :] for form in slips for index in range(len(form))
    )


_FORM_NEIGHBOURS: Final = _slip_forms(_END)
# Only long forms are guessed at the start, where names begin with short words that
# are a slip from some form ("Nort" from "Nyrt"), and misspelt forms are rare.
_LEADING_FORM_NEIGHBOURS: Final = _slip_forms(frozenset(f for f in _START if len(f[0]) >= 6))
# The first three letters of each string of a set of neighbours (`_near_legal_form`).
_STARTS: Final = {
    neighbours: frozenset(near[:3] for near in neighbours if len(near) >= 3)
    for neighbours in (_FORM_NEIGHBOURS, _LEADING_FORM_NEIGHBOURS)
}


def _openings(starts: frozenset[str]) -> frozenset[str]:
    """The first four letters of every word that passes the quick test of `_near_legal_form`.

    That test reads only a word's first four letters, so it is decided once here for
    all of them (words of a normalised name, in ASCII, are letters and digits): a
    word whose first four letters are not among these is no misspelt legal form,
    and the memoised function is not called for it at all.
    """
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    openings: set[str] = set()
    for start in starts:
        for letter in alphabet:
            openings.add(start + letter)  # a deletion past the third letter
            openings.add(start[:2] + letter + start[2])  # of the third
            openings.add(start[0] + letter + start[1:])  # of the second
            openings.add(letter + start)  # of the first
    return frozenset(openings)


_END_OPENINGS: Final = _openings(_STARTS[_FORM_NEIGHBOURS])
_LEADING_OPENINGS: Final = _openings(_STARTS[_LEADING_FORM_NEIGHBOURS])


@functools.lru_cache(maxsize=1 << 16)
def match_words(normalized: str) -> tuple[str, ...]:
    """The words fuzzy matching compares, from a `normalize_company_name` result.

    Drops "&" and a misspelt legal form at either end ("Acme Gbmh" and "Aktiebolg
    Acme" are ``("acme",)``).
    """
    return _match_words(normalized)


def _match_words(normalized: str) -> tuple[str, ...]:
    words = normalized.split(" ")
    if "&" in words or "" in words:
        words = [word for word in words if word and word != "&"]
    while (
        len(words) > 1
        and words[-1][:4] in _END_OPENINGS
        and _near_legal_form(words[-1], _FORM_NEIGHBOURS)
    ):
        words.pop()
    while (
        len(words) > 1
        and words[0][:4] in _LEADING_OPENINGS
        and _near_legal_form(words[0], _LEADING_FORM_NEIGHBOURS)
    ):
        del words[0]
    return tuple(words)


def match_key(words: tuple[str, ...]) -> str:
    """The words joined and folded by `skeleton`: equal for spelling and script variants.

    ``mueller soehne``, ``müller söhne`` and ``muller sohne`` share ``mullersohne``;
    ``яндекс`` and ``yandex`` share ``iandex``.
    """
    return skeleton("".join(words))


#: `normalize_company_name` and `match_words` without their caches, for loading many
#: distinct names at once, where a cache would only churn.
bulk_normalize: Final = _normalized
bulk_match_words: Final = _match_words
