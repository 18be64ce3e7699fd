"""A labelled match-quality set for deal conflict detection, generated from rules.

Everything here is made from this file's own word lists and rules with a seeded
``random.Random``: no real company data, and nothing read from partnerkit's own
legal-form table (the forms below are written out again, as partners type them,
so a form the package does not know shows up as a miss).

A *population* of customers is registered first (names in 40 countries with a
legal form, a website, half of them a contact email at that website). Then
*queries* are made from it, each labelled with the registration it must find, or
with nothing when it is a different company:

- ``legal_form_end`` / ``legal_form_start`` / ``legal_form_middle``: the same
  company with another legal form of its country, long or short, dotted,
  spaced, upper or lower case, with or without diacritics, after the name,
  before it, or between the name and a second form ("Nordkraft AB (publ)",
  "PT Sinar Jaya Tbk");
- ``spelling``: case, punctuation, diacritics dropped or spelled out, "&" for
  "and" in the country's language, words joined or split, a leading "The";
- ``typo_1_short`` / ``typo_1_medium`` / ``typo_1_long``: one typing slip
  (a missing, extra, wrong or swapped letter, next to the intended key) in a name
  of 4-6, 7-13 or 14+ letters, the query without a website;
- ``typo_1_other_website``: one slip, and the query carries a different website
  (the same name on ``.com`` or another name altogether);
- ``typo_2_long``: two slips in a name of 14 or more letters;
- ``near_neighbour``: a truly different company whose name is close: the same
  brand with another line of business, a common word swapped for a similar one
  ("Hill" and "Mill"), another number, the same name in another country, an extra
  word; each with its own website;
- ``new_name``: a new company sharing words with registered ones, with its own
  website.

Two seeds make two disjoint query sets from one population: a *development* set
that tests and tuning use, and a *held-out* set that only the benchmark reports.
"""

# The word lists hold Cyrillic letters and diacritics on purpose.
# ruff: noqa: RUF001, SIM905
from __future__ import annotations

import random
from typing import NamedTuple

from partnerkit import ValidationError
from partnerkit.deals import registrable_domain

#: The seed of the population; the development and held-out queries use their own.
POPULATION_SEED = 2026
DEVELOPMENT_SEED = 11
HELD_OUT_SEED = 97

POSITIVE_KINDS = (
    "legal_form_end",
    "legal_form_start",
    "legal_form_middle",
    "spelling",
    "typo_1_short",
    "typo_1_medium",
    "typo_1_long",
    "typo_1_other_website",
    "typo_2_long",
)
NEGATIVE_KINDS = ("near_neighbour", "new_name")
KINDS = POSITIVE_KINDS + NEGATIVE_KINDS

# country -> (top-level domain, legal forms: (spellings, where: "end", "start" or "both"))
# Spellings of one form are separated by "|": a variant query may pick any of them.
FORMS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "US": (
        "com",
        (
            ("Inc.|Inc|Incorporated|INC", "end"),
            ("LLC|L.L.C.|Llc", "end"),
            ("Corp.|Corporation|Corp", "end"),
        ),
    ),
    "GB": ("co.uk", (("Ltd|Ltd.|Limited|LTD", "end"), ("PLC|plc|P.L.C.", "end"), ("LLP", "end"))),
    "IE": (
        "ie",
        (
            ("Teoranta|Teo.", "end"),
            ("DAC|Designated Activity Company", "end"),
            ("Ltd|Limited", "end"),
        ),
    ),
    "AU": ("com.au", (("Pty Ltd|Pty. Ltd.|Pty Limited|PTY LTD|Proprietary Limited", "end"),)),
    "CA": ("ca", (("Inc.|Ltd.|Ltée|Limitée", "end"), ("Corp.", "end"))),
    "ZA": ("co.za", (("(Pty) Ltd|Pty Ltd|(PTY) LTD", "end"), ("NPC", "end"))),
    "IN": ("co.in", (("Pvt. Ltd.|Pvt Ltd|Private Limited|PVT LTD", "end"),)),
    "SG": ("com.sg", (("Pte. Ltd.|Pte Ltd|PTE LTD|Private Limited", "end"),)),
    "MY": (
        "com.my",
        (("Sdn. Bhd.|Sdn Bhd|Sendirian Berhad|SDN BHD", "end"), ("Berhad|Bhd", "end")),
    ),
    "ID": ("co.id", (("PT|P.T.|PT.", "start"), ("Tbk|Tbk.|Terbuka", "end"))),
    "JP": (
        "co.jp",
        (
            ("K.K.|Kabushiki Kaisha|KK", "end"),
            ("Co., Ltd.|Co. Ltd", "end"),
            ("株式会社", "both"),
            ("Godo Kaisha|G.K.", "end"),
        ),
    ),
    "KR": ("co.kr", (("Co., Ltd.|Co. Ltd.", "end"), ("주식회사|(주)", "both"))),
    "CN": ("com.cn", (("有限公司", "end"), ("Co., Ltd.|Co. Ltd", "end"))),
    "TH": ("co.th", (("PCL|Public Company Limited", "end"), ("Co., Ltd.", "end"))),
    "VN": ("vn", (("Công ty TNHH|Cong ty TNHH|CÔNG TY TNHH", "start"), ("JSC", "end"))),
    "DE": (
        "de",
        (
            ("GmbH|G.m.b.H.|GMBH|Gesellschaft mit beschränkter Haftung", "end"),
            ("AG|A.G.|Aktiengesellschaft", "both"),
            ("GmbH & Co. KG|GmbH & Co KG", "end"),
            ("UG (haftungsbeschränkt)|UG (haftungsbeschraenkt)", "end"),
            ("e.K.", "end"),
        ),
    ),
    "AT": ("at", (("GmbH|Ges.m.b.H.|GesmbH", "end"), ("AG", "both"))),
    "CH": ("ch", (("AG|SA", "both"), ("GmbH|Sàrl|Sarl", "end"))),
    "FR": (
        "fr",
        (
            ("SA|S.A.|Société Anonyme|Societe Anonyme", "both"),
            ("SAS|S.A.S.", "end"),
            ("SARL|S.A.R.L.|Sàrl", "end"),
            ("SASU|EURL", "end"),
        ),
    ),
    "BE": (
        "be",
        (("NV|N.V.", "both"), ("BV|B.V.|BVBA|B.V.B.A.", "end"), ("SRL|SPRL|S.P.R.L.", "end")),
    ),
    "NL": ("nl", (("B.V.|BV|Besloten Vennootschap", "both"), ("N.V.|NV", "both"))),
    "LU": ("lu", (("S.à r.l.|Sàrl|S.a r.l.", "end"), ("S.A.|SA", "end"))),
    "IT": (
        "it",
        (("S.p.A.|SpA|S.P.A.", "end"), ("S.r.l.|SRL|Srl|S.R.L.", "end"), ("S.a.s.|Snc", "end")),
    ),
    "ES": (
        "es",
        (
            ("S.A.|SA|Sociedad Anónima|Sociedad Anonima", "both"),
            ("S.L.|SL|Sociedad Limitada|S.L.U.", "end"),
        ),
    ),
    "PT": ("pt", (("Lda|Lda.|Limitada", "end"), ("S.A.|SA", "end"))),
    "BR": (
        "com.br",
        (("Ltda.|Ltda|LTDA|Limitada", "end"), ("S.A.|S/A|SA", "end"), ("EIRELI", "end")),
    ),
    "MX": (
        "com.mx",
        (
            ("S.A. de C.V.|SA de CV|S.A. DE C.V.", "end"),
            ("S. de R.L. de C.V.|S de RL de CV", "end"),
            ("S.A.B. de C.V.", "end"),
        ),
    ),
    "AR": (
        "com.ar",
        (
            ("S.A.|SA", "end"),
            ("S.A.I.C.|SAIC", "end"),
            ("SACIF|S.A.C.I.F.", "end"),
            ("S.R.L.|SRL", "end"),
        ),
    ),
    "VE": ("com.ve", (("C.A.|CA", "end"), ("S.A.", "end"))),
    "CL": ("cl", (("S.A.|SA", "end"), ("Ltda.|Limitada", "end"), ("SpA", "end"))),
    "PE": ("com.pe", (("S.A.C.|SAC", "end"), ("S.R.L.", "end"), ("E.I.R.L.", "end"))),
    "PL": (
        "pl",
        (
            (
                (
                    "Sp. z o.o.|sp. z o.o.|Spółka z o.o.|Spolka z o.o.|Sp z oo|SP. Z O.O."
                    "|Spółka z ograniczoną odpowiedzialnością"
                ),
                "end",
            ),
            ("S.A.|SA|Spółka Akcyjna", "end"),
            ("Sp. j.|Sp.k.", "end"),
        ),
    ),
    "CZ": ("cz", (("s.r.o.|s. r. o.|spol. s r.o.|S.R.O.", "end"), ("a.s.|a. s.", "both"))),
    "SK": ("sk", (("s.r.o.|spol. s r.o.", "end"), ("a.s.", "end"))),
    "HU": ("hu", (("Kft.|Kft|KFT", "end"), ("Zrt.|Zrt", "end"), ("Nyrt.|Bt.", "end"))),
    "RO": ("ro", (("S.R.L.|SRL|S.r.l.", "end"), ("S.A.|SA", "end"), ("S.C.", "start"))),
    "BG": ("bg", (("OOD|ООД", "end"), ("EOOD|ЕООД", "end"), ("AD|АД", "end"))),
    "HR": ("hr", (("d.o.o.|d. o. o.|D.O.O.|doo", "end"), ("d.d.", "end"))),
    "RS": ("rs", (("d.o.o.|doo", "end"), ("a.d.|A.D.", "end"))),
    "GR": ("gr", (("A.E.|AE|Α.Ε.", "end"), ("E.P.E.|Ε.Π.Ε.|EPE", "end"), ("I.K.E.|ΙΚΕ", "end"))),
    "TR": ("com.tr", (("A.Ş.|A.S.|AŞ", "end"), ("Ltd. Şti.|Ltd. Sti.|Limited Şirketi", "end"))),
    "RU": (
        "ru",
        (
            ("ООО|OOO|O.O.O.", "both"),
            ("АО|AO", "start"),
            ("ПАО|PAO|PJSC", "both"),
            ("OJSC|Open Joint Stock Company|ОАО", "both"),
            ("ZAO|ЗАО|CJSC", "both"),
        ),
    ),
    "UA": ("com.ua", (("ТОВ|TOV", "both"), ("ПАТ|ПрАТ", "start"))),
    "KZ": ("kz", (("ТОО|TOO", "start"), ("АО|JSC", "both"))),
    "EE": ("ee", (("OÜ|OU|Osaühing", "both"), ("AS|Aktsiaselts", "both"))),
    "LV": ("lv", (("SIA|Sabiedrība ar ierobežotu atbildību", "both"), ("AS", "both"))),
    "LT": ("lt", (("UAB|Uždaroji akcinė bendrovė", "both"), ("AB|Akcinė bendrovė", "both"))),
    "FI": ("fi", (("Oy|OY|Osakeyhtiö", "both"), ("Oyj|OYJ", "both"), ("Ab|Ky", "end"))),
    "SE": (
        "se",
        (
            ("AB|A.B.|Aktiebolag|Aktiebolaget", "both"),
            ("AB (publ)", "end"),
            ("HB|Handelsbolag", "end"),
        ),
    ),
    "NO": (
        "no",
        (("AS|A/S|Aksjeselskap", "both"), ("ASA|Allmennaksjeselskap", "both"), ("ANS", "end")),
    ),
    "DK": (
        "dk",
        (("A/S|AS|Aktieselskab", "both"), ("ApS|APS|Anpartsselskab", "both"), ("I/S", "end")),
    ),
    "IS": ("is", (("ehf.|ehf|EHF", "end"), ("hf.|hf", "end"))),
    "AE": ("ae", (("FZCO|FZ-LLC|FZE", "end"), ("LLC|L.L.C.", "end"), ("PJSC", "end"))),
    "IL": ("co.il", (('Ltd|Ltd.|בע"מ', "end"),)),
}
# Second forms that follow a first one, for legal forms in the middle of a name.
TAILS: dict[str, tuple[str, ...]] = {
    "SE": ("(publ)",),
    "DE": ("& Co. KG",),
    "PL": ("Sp. k.", "Sp.j."),
    "ID": ("Tbk",),
    "FI": ("Ab",),
    "RU": ("ООО",),
    "JP": ("Co., Ltd.",),
}

ONSETS = (
    "b br bl c ch cl cr d dr f fl fr g gl gr h j k kl kr l m n p pl pr qu r s sc sk sl "
    "sm sn sp st str sv t th tr v w z zh"
).split()
VOWELS = ("a e i o u a e o y ia io ea au").split()
CODAS = ("n x r l s t nt rk ll m nd rt k v rn lt st ck ng").split()
GENERIC = (
    "Solutions Systems Technologies Consulting Logistics Foods Energy Media Capital "
    "Partners Labs Group Holdings Software Analytics Robotics Health Pharma Networks "
    "Cloud Data Security Design Engineering Services Industries Trading Retail Motors "
    "Textiles Construction Insurance Finance Marine Aviation Chemicals Metals "
    "Electronics Telecom Biotech Ventures Studios Dynamics Instruments Materials "
    "Automation Agency Digital Bakery Brewing Furniture Printing Packaging Transport "
    "Shipping Dental Clinic Optics"
).split()
PLACES = (
    "Nordic Baltic Alpine Pacific Atlantic Northern Southern Eastern Western Central "
    "Global International Euro Asia Iberia Scandinavian Highland Coastal Metro "
    "Continental"
).split()
SURNAMES = (
    "Smith Johnson Nielsen Hansen Virtanen Korhonen Kowalski Nowak Rossi Bianchi Garcia "
    "Martin Bernard Dubois Novak Horvat Silva Santos Tanaka Sato Kim Lee Chen Wang Patel "
    "Singh Cohen Murphy Kelly Jensen Larsen Berg Lund Holm Eriksson Lindqvist Andersson"
).split()
# Common words that differ from another common word by a slip or two: different
# companies are named "Hill Bakery" and "Mill Bakery".
REAL_PAIRS = (
    ("Hill", "Mill"),
    ("Bay", "Day"),
    ("Park", "Mark"),
    ("Gold", "Bold"),
    ("Star", "Stag"),
    ("Link", "Line"),
    ("Rock", "Lock"),
    ("Wave", "Cave"),
    ("Bright", "Right"),
    ("Cloud", "Crowd"),
    ("Sky", "Sea"),
    ("Stone", "Shore"),
    ("Lake", "Late"),
    ("River", "Rover"),
    ("Peak", "Pear"),
    ("Forest", "Frost"),
    ("Harbour", "Harbor"),
    ("Oak", "Oaks"),
    ("West", "Best"),
    ("North", "Worth"),
    ("Pine", "Pike"),
    ("Blue", "Glue"),
    ("Green", "Greene"),
    ("Silver", "Sliver"),
    ("Iron", "Icon"),
    ("Falcon", "Fallon"),
)
REAL_WORDS = sorted({word for pair in REAL_PAIRS for word in pair})
DIACRITIC_WORDS = (
    "Müller Schäfer Schröder Köhler Krüger Möller Fröhlich Günther Brückner Löwe Jürgens "
    "Hübner Bäcker Sørensen Jørgensen Ødegård Åberg Bjørnstad Strøm Ström Öberg Højgaard "
    "Lærke Straße Weiß Groß Société Générale Énergie Électrique Lumière Peña Muñoz Núñez "
    "Ibáñez Château Crème Citroën Nestlé Göteborg Malmö Düsseldorf Zürich Ærø Łódź "
    "Kraków"
).split()
AND_WORDS = {
    "DE": "und",
    "AT": "und",
    "CH": "und",
    "FR": "et",
    "BE": "et",
    "LU": "et",
    "ES": "y",
    "MX": "y",
    "AR": "y",
    "PT": "e",
    "BR": "e",
    "IT": "e",
    "NO": "og",
    "DK": "og",
    "SE": "och",
    "FI": "ja",
    "NL": "en",
    "PL": "i",
    "RU": "и",
    "TR": "ve",
}
CYR_ONSETS = ("б в г д ж з к л м н п р с т ф х ц ч ш").split()
CYR_VOWELS = ("а е и о у я ю").split()
CYR_CODAS = ["", "", "н", "р", "л", "кс", "й", "в", "к", "м"]
KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NEIGHBOURS = {
    char: "".join(
        KEYBOARD[r][c]
        for r in range(3)
        for c in range(len(KEYBOARD[r]))
        if (r, c) != (row, col) and abs(r - row) <= 1 and abs(c - col) <= 1
    )
    for row, line in enumerate(KEYBOARD)
    for col, char in enumerate(line)
}
UNDIACRITIC = str.maketrans(
    "äöüßøåæéèêâñáúëçłóźśżąęíšžčřůýťďňőűőÄÖÜØÅÆÉÑŁŚŻŹ",
    "aousoaaeeeanaueclozszaeiszcruytdnouoAOUOAAENLSZZ",
)
SPELLED_OUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "å": "aa", "æ": "ae"}


class Base(NamedTuple):
    """A registered customer: its name's words, its legal form and where it stands."""

    number: int
    words: tuple[str, ...]
    form: str
    form_at_start: bool
    country: str
    website: str
    email: str | None

    @property
    def core(self) -> str:
        return " ".join(self.words)

    @property
    def name(self) -> str:
        return f"{self.form} {self.core}" if self.form_at_start else f"{self.core} {self.form}"


class Query(NamedTuple):
    """A labelled query: a customer, and the registration number it must find (or None)."""

    kind: str
    name: str
    country: str
    website: str | None
    expected: int | None
    base: int


def letters(text: str) -> int:
    """Letters and digits in ``text``: how long a name is for its typo bucket."""
    return sum(char.isalnum() for char in text)


class Generator:
    """Deterministic customers and their variants."""

    def __init__(self, seed: int, hosts: set[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.hosts: set[str] = set() if hosts is None else hosts
        self.names: set[tuple[str, str]] = set()

    def brand(self, syllables: int | None = None) -> str:
        rng = self.rng
        count = syllables or rng.choice((2, 2, 2, 3))
        word = "".join(
            rng.choice(ONSETS)
            + rng.choice(VOWELS)
            + (rng.choice(CODAS) if rng.random() < 0.35 else "")
            for _ in range(count)
        )
        return word.capitalize()

    def cyrillic_brand(self) -> str:
        rng = self.rng
        return "".join(
            rng.choice(CYR_ONSETS) + rng.choice(CYR_VOWELS) + rng.choice(CYR_CODAS)
            for _ in range(rng.choice((2, 3)))
        ).capitalize()

    def core(self, country: str) -> tuple[str, ...]:
        rng = self.rng
        style = rng.choices(
            (
                "brand_generic",
                "brand_two",
                "place_brand",
                "surnames",
                "brand",
                "real",
                "initials",
                "numbered",
                "diacritics",
            ),
            weights=(30, 12, 10, 8, 14, 8, 5, 4, 9),
        )[0]
        first = (
            self.cyrillic_brand()
            if country in {"RU", "BG", "KZ"} and rng.random() < 0.5
            else self.brand()
        )
        if style == "brand_generic":
            return (first, rng.choice(GENERIC))
        if style == "brand_two":
            return (first, *rng.sample(GENERIC, 2))
        if style == "place_brand":
            return (rng.choice(PLACES), first, rng.choice(GENERIC))
        if style == "surnames":
            one, two = rng.sample(SURNAMES, 2)
            return (one, "&", two, rng.choice(GENERIC))
        if style == "brand":
            return (first,)
        if style == "real":
            return (rng.choice(REAL_WORDS), rng.choice(REAL_WORDS + PLACES), rng.choice(GENERIC))
        if style == "initials":
            initials = "".join(rng.choice("ABCDEFGHJKLMNPRSTVW") for _ in range(2))
            return (initials, rng.choice(GENERIC), rng.choice(GENERIC))
        if style == "numbered":
            return (first, rng.choice(GENERIC), str(rng.randrange(2, 400)))
        return (rng.choice(DIACRITIC_WORDS), first, rng.choice(GENERIC))

    def website(self, words: tuple[str, ...], tld: str) -> str:
        """A host named after the company, never one another company already has."""
        common = {*GENERIC, *PLACES, *SURNAMES, *REAL_WORDS, "&"}
        named = [w for w in words if w not in common] or [w for w in words if w != "&"][:2]
        stem = "".join(
            char
            for char in "".join(named).lower().translate(UNDIACRITIC)
            if char.isascii() and char.isalnum()
        )[:14]
        if len(stem) < 4:
            stem += self.brand().lower()
        if self.rng.random() < 0.3:
            stem += str(self.rng.randrange(100))
        host = f"{stem}.{tld}"
        while host in self.hosts:
            host = f"{stem}{self.rng.randrange(10000)}.{tld}"
        try:
            registrable_domain(host)
        except ValidationError:  # "krakow.pl" is a public suffix of its own
            host = f"{stem}-group.{tld}"
        self.hosts.add(host)
        return host

    def customer(self, number: int) -> Base:
        rng = self.rng
        country = rng.choice(sorted(FORMS))
        tld, forms = FORMS[country]
        words = self.core(country)
        # Two companies of one name in one country would be one customer to anyone.
        while (" ".join(words).casefold(), country) in self.names:
            words = self.core(country)
        self.names.add((" ".join(words).casefold(), country))
        spellings, where = rng.choice(forms)
        form = spellings.split("|")[0]
        at_start = where == "start" or (where == "both" and rng.random() < 0.3)
        website = self.website(words, tld)
        email = f"buyer@{website}" if rng.random() < 0.5 else None
        return Base(number, words, form, at_start, country, website, email)

    # --- variants ---------------------------------------------------------------------

    def form_spelling(self, spelling: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return spelling.upper()
        if roll < 0.35:
            return spelling.lower()
        if roll < 0.5 and "." in spelling:
            return spelling.replace(".", "")
        if roll < 0.6 and "." in spelling:
            return spelling.replace(".", ". ").strip()
        if roll < 0.7 and spelling.isalpha() and 2 <= len(spelling) <= 3:
            return " ".join(spelling)
        if roll < 0.8:
            return spelling.translate(UNDIACRITIC)
        return spelling

    def other_form(self, base: Base, place: str) -> str | None:
        """Another spelling of a form of the base's country that may stand at ``place``."""
        _, forms = FORMS[base.country]
        allowed = [
            spelling
            for spellings, where in forms
            for spelling in spellings.split("|")
            if where in ("both", place) or (place == "middle" and where == "end")
        ]
        if not allowed:
            return None
        return self.form_spelling(self.rng.choice(allowed))

    def legal_form(self, base: Base, place: str) -> str | None:
        form = self.other_form(base, "end" if place == "middle" else place)
        if form is None:
            return None
        if place == "start":
            return f"{form} {base.core}"
        if place == "end":
            separator = ", " if self.rng.random() < 0.3 else " "
            return f"{base.core}{separator}{form}"
        tails = TAILS.get(base.country)
        if tails:
            return f"{base.core} {form} {self.rng.choice(tails)}"
        start = self.other_form(base, "start")
        if start is None:
            return None
        return f"{start} {base.core} {form}"

    def spelling(self, base: Base) -> str:
        rng = self.rng
        name = base.name
        words = list(base.words)
        changes = [
            lambda text: text.upper(),
            lambda text: text.lower(),
            lambda text: text.translate(UNDIACRITIC),
            lambda text: "".join(SPELLED_OUT.get(char, char) for char in text),
            lambda text: (
                text.replace(" & ", f" {AND_WORDS.get(base.country, 'and')} ")
                if " & " in text
                else text.replace(" ", "-", 1)
            ),
            lambda text: text.replace(" & ", " + ") if " & " in text else text.replace(" ", "  "),
            lambda text: "The " + text,
            lambda text: (
                text.replace(base.core, "".join(w for w in words if w != "&"))
                if len(words) == 2
                else text.replace(" ", "-")
            ),
            lambda text: text.replace(base.core, " ".join(_split(w) for w in words)),
            lambda text: text + ".",
            lambda text: '"' + text + '"',
            lambda text: text.replace(base.form, base.form + ","),
        ]
        for change in rng.sample(changes, 2):
            name = change(name)
        return name

    def typo(self, text: str) -> str:
        """``text`` with one slip in one of its letters (not in the legal form)."""
        rng = self.rng
        positions = [index for index, char in enumerate(text) if char.isalpha()]
        at = rng.choice(positions)
        char = text[at]
        kind = rng.choice(("insert", "delete", "substitute", "transpose"))
        near = NEIGHBOURS.get(char.lower(), "aeiou") or "aeiou"
        if kind == "insert":
            return text[:at] + rng.choice(near + char) + text[at:]
        if kind == "delete" and letters(text) > 2:
            return text[:at] + text[at + 1 :]
        if (
            kind == "transpose"
            and at + 1 < len(text)
            and text[at + 1].isalpha()
            and text[at + 1] != char
        ):
            return text[:at] + text[at + 1] + char + text[at + 2 :]
        replacement = rng.choice(near)
        return text[:at] + (replacement.upper() if char.isupper() else replacement) + text[at + 1 :]

    def misspelt(self, base: Base, slips: int) -> str:
        core = base.core
        for _ in range(slips):
            core = self.typo(core)
        return base.name.replace(base.core, core)

    def near_neighbour(self, base: Base) -> tuple[str, str, str] | None:
        """A truly different company close to ``base``: (name, country, website)."""
        rng = self.rng
        words = list(base.words)
        tld, forms = FORMS[base.country]
        country = base.country
        options = []
        generic = [i for i, w in enumerate(words) if w in GENERIC]
        real = [i for i, w in enumerate(words) if w in REAL_WORDS]
        numbers = [i for i, w in enumerate(words) if w.isdigit()]
        if generic:
            options.append("other_business")
        if real:
            options.append("real_word")
        if numbers:
            options.append("number")
        options += ["other_country", "extra_word"]
        choice = rng.choice(options)
        if choice == "other_business":
            at = rng.choice(generic)
            words[at] = rng.choice([g for g in GENERIC if g != words[at]])
        elif choice == "real_word":
            at = rng.choice(real)
            pair = next(p for p in REAL_PAIRS if words[at] in p)
            words[at] = pair[1] if words[at] == pair[0] else pair[0]
        elif choice == "number":
            at = rng.choice(numbers)
            digits = words[at]
            swapped = digits[::-1] if len(set(digits)) > 1 else str(int(digits) + 1)
            words[at] = swapped
        elif choice == "other_country":
            country = rng.choice([c for c in sorted(FORMS) if c != base.country])
            tld, forms = FORMS[country]
        else:
            words.append(rng.choice([g for g in (*GENERIC, *PLACES) if g not in words]))
        if (" ".join(words).casefold(), country) in self.names:
            return None
        spellings, where = rng.choice(forms)
        form = spellings.split("|")[0]
        core = " ".join(words)
        name = f"{form} {core}" if where == "start" else f"{core} {form}"
        website = self.website(tuple(words), tld)
        if website.split(".")[0] == base.website.split(".")[0]:
            website = f"{self.brand().lower()}-{website}"
        return name, country, website

    def new_name(self, base: Base) -> tuple[str, str]:
        """A new company sharing words with ``base``: (name, website)."""
        rng = self.rng
        words = list(base.words)
        positions = [i for i, w in enumerate(words) if w != "&" and w not in GENERIC]
        if positions:
            words[rng.choice(positions)] = self.brand()
        else:
            words.insert(0, self.brand())
        if rng.random() < 0.3:
            words.append(rng.choice(GENERIC))
        while (" ".join(words).casefold(), base.country) in self.names:
            words[0] = self.brand()
        tld, forms = FORMS[base.country]
        spellings, where = rng.choice(forms)
        form = spellings.split("|")[0]
        core = " ".join(words)
        name = f"{form} {core}" if where == "start" else f"{core} {form}"
        return name, self.website(tuple(words), tld)


def _split(word: str) -> str:
    """A long word written as two ("Fjordlink" as "Fjord Link"), others unchanged."""
    if len(word) >= 8 and word.isalpha():
        middle = len(word) // 2
        return f"{word[:middle]} {word[middle:].capitalize()}"
    return word


def population(count: int, seed: int = POPULATION_SEED) -> list[Base]:
    """``count`` registered customers, the same for the same count and seed."""
    generator = Generator(seed)
    return [generator.customer(number) for number in range(count)]


def queries(bases: list[Base], per_kind: int, seed: int) -> list[Query]:
    """``per_kind`` labelled queries of each kind, made from ``bases``."""
    rng = random.Random(seed)
    generator = Generator(seed * 7919 + 1, hosts={base.website for base in bases})
    generator.names = {(base.core.casefold(), base.country) for base in bases}
    counts = dict.fromkeys(KINDS, 0)
    made: list[Query] = []
    order = list(range(len(bases)))
    rng.shuffle(order)

    def add(
        kind: str,
        name: str | None,
        base: Base,
        *,
        expected: bool,
        country: str | None = None,
        website: str | None = None,
    ) -> None:
        if name is None or counts[kind] >= per_kind:
            return
        counts[kind] += 1
        made.append(
            Query(
                kind,
                name,
                country or base.country,
                website,
                base.number if expected else None,
                base.number,
            )
        )

    for position in order:
        if all(count >= per_kind for count in counts.values()):
            break
        base = bases[position]
        size = letters(base.core)
        roll = rng.random()
        if roll < 0.25:
            place = rng.choice(("end", "start", "middle"))
            add(f"legal_form_{place}", generator.legal_form(base, place), base, expected=True)
        elif roll < 0.35:
            add("spelling", generator.spelling(base), base, expected=True)
        elif roll < 0.65:
            if size >= 14 and rng.random() < 0.4:
                add("typo_2_long", generator.misspelt(base, 2), base, expected=True)
            elif rng.random() < 0.3:
                if rng.random() < 0.5:
                    other = base.website.rsplit(".", 1)[0].split(".")[0] + ".com"
                else:
                    other = f"{generator.brand().lower()}.com"
                if other == base.website:
                    other = "x" + other
                add(
                    "typo_1_other_website",
                    generator.misspelt(base, 1),
                    base,
                    expected=True,
                    website=other,
                )
            else:
                bucket = "short" if size <= 6 else "medium" if size <= 13 else "long"
                if size >= 4:
                    add(f"typo_1_{bucket}", generator.misspelt(base, 1), base, expected=True)
        elif roll < 0.85:
            found = generator.near_neighbour(base)
            if found is not None:
                name, country, website = found
                add("near_neighbour", name, base, expected=False, country=country, website=website)
        else:
            name, website = generator.new_name(base)
            add("new_name", name, base, expected=False, website=website)
    return made
