"""Legal forms of companies by jurisdiction: the data `normalize_company_name` removes.

Each `Jurisdiction` lists the forms written in one country (or a group of countries
that share a company law) as people write them: long, short, dotted, spaced, with
and without diacritics. Spellings are read by the same tokeniser as company names,
so ``"S.A. de C.V."``, ``"SA de CV"`` and ``"s. a. de c. v."`` are one form, and
``"Spółka z o.o."`` is also ``"Spolka z o.o."``.

Where a form is removed depends on how distinctive it is:

- ``any``: a form that is never an ordinary word or a common abbreviation
  (``GmbH``, ``Sp. z o.o.``, ``OJSC``, ``Aktiebolag``, ``SACIF``): removed wherever
  it stands, in every country.
- ``end``: a short form that is also an acronym elsewhere (``AB``, ``AS``, ``SA``,
  ``AG``, ``NV``): removed at the end of any name, and also at the start or in the
  middle of names in the jurisdiction's own countries ("AB Nordkraft" in Sweden,
  "Siemens AG Österreich" in Germany), where it can only be the legal form.
- ``start``: a form written before the name (``PT``, ``UAB``, ``SIA``, ``ООО``):
  removed at the start of any name, and anywhere in its own countries.
- ``edge``: written before the name in its own countries and after it elsewhere:
  removed at either end of any name, and anywhere in its own countries.
- ``word``: also an ordinary word (``Co``, ``Company``, ``Limited``, ``Spa``, ``LP``,
  ``PC``): removed only at the end of a name, even in its own countries ("PC World",
  "Limited Brands" and "Spa Resort" keep their first word).

Legal forms in scripts written without spaces (``株式会社``, ``有限公司``, ``(주)``) are
cut out of the text before it is split into words (`SCRIPT_FORMS`).
"""

# This module's tables hold Cyrillic, Greek and other scripts on purpose.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from partnerkit.deals._names_v1 import _CJK_FORMS

__all__ = ["JURISDICTIONS", "PLACEMENTS", "SCRIPT_FORMS", "Jurisdiction", "Placement"]

Placement = Literal["any", "end", "start", "edge", "word"]
#: Every placement, from the most to the least freely removed.
PLACEMENTS: Final[tuple[Placement, ...]] = ("any", "edge", "start", "end", "word")


class Jurisdiction(NamedTuple):
    """The legal forms of one jurisdiction.

    Attributes:
        code: A short code for the jurisdiction (an ISO 3166-1 code, or a group).
        name: Its name in English.
        countries: The ISO 3166-1 alpha-2 codes of the countries whose companies use
            these forms at home (where ``end`` and ``start`` forms go anywhere).
        forms: Placement -> the spellings, separated by ``|``.
    """

    code: str
    name: str
    countries: tuple[str, ...]
    forms: dict[Placement, str]


def _j(code: str, name: str, countries: str, **forms: str) -> Jurisdiction:
    return Jurisdiction(code, name, tuple(countries.split()), forms)  # type: ignore[arg-type]


JURISDICTIONS: Final[tuple[Jurisdiction, ...]] = (
    _j(
        "US",
        "United States",
        "US PR",
        any="inc | incorporated | corp | corporation | llc | l.l.c. | llp | l.l.p. | lllp | pllc"
        " | p.l.l.c. | limited liability company | limited liability partnership"
        " | professional limited liability company | professional corporation",
        word="co | company | cos | lp | l.p. | pc | p.c. | na | n.a. | pbc",
    ),
    _j(
        "CA",
        "Canada",
        "CA",
        any="ltée | limitée | ltd | inc | corp | ulc | s.e.n.c. | société en nom collectif",
        word="limited | lp",
    ),
    _j(
        "GB",
        "United Kingdom",
        "GB IM JE GG",
        any="ltd | ltd. | plc | p.l.c. | llp | public limited company | private limited company"
        " | community interest company | limited by guarantee",
        end="cic | c.i.c.",
        word="limited | co | company | co. ltd",
    ),
    _j(
        "IE",
        "Ireland",
        "IE",
        any="teoranta | teo. | cpt | clg | designated activity company"
        " | company limited by guarantee | cuideachta phoiblí theoranta",
        end="dac | d.a.c. | uc | ulc",
    ),
    _j(
        "AU",
        "Australia",
        "AU",
        any="pty ltd | pty. ltd. | pty limited | proprietary limited | pty",
        word="nl",
    ),
    _j("NZ", "New Zealand", "NZ", any="ltd", word="limited"),
    _j(
        "ZA",
        "South Africa",
        "ZA NA BW",
        any="(pty) ltd | (pty) limited | soc ltd | rf (pty) ltd | npc",
        word="cc | inc",
    ),
    _j(
        "IN",
        "India",
        "IN",
        any="pvt ltd | pvt. ltd. | private limited | pvt | opc | opc pvt ltd | llp",
        word="limited",
    ),
    _j("SG", "Singapore", "SG", any="pte ltd | pte. ltd. | pte | private limited"),
    _j(
        "MY",
        "Malaysia",
        "MY BN",
        any="sdn bhd | sdn. bhd. | sendirian berhad | berhad | bhd | bhd.",
    ),
    _j(
        "ID",
        "Indonesia",
        "ID",
        any="tbk | tbk. | terbuka | persero | (persero) | perseroan terbatas",
        start="pt | p.t. | pt.",
        end="cv | c.v. | ud | u.d.",
    ),
    _j(
        "PH",
        "Philippines",
        "PH",
        any="inc | corp | corporation",
        word="co | company",
    ),
    _j(
        "JP",
        "Japan",
        "JP",
        any="kabushiki kaisha | kabushiki gaisha | yugen kaisha | yūgen gaisha | godo kaisha"
        " | gōdō gaisha | goshi kaisha | gomei kaisha",
        end="k.k. | kk | g.k. | gk | y.k.",
        word="co. ltd | co ltd",
    ),
    _j(
        "CN",
        "China, Hong Kong and Taiwan",
        "CN HK TW MO",
        any="youxian gongsi | gufen youxian gongsi | co., ltd.",
        word="limited | co",
    ),
    _j(
        "KR",
        "South Korea",
        "KR",
        any="chusik hoesa | jusik hoesa | jusikhoesa | yuhan hoesa | yuhan chaegim hoesa",
        word="co. ltd",
    ),
    _j(
        "TH",
        "Thailand",
        "TH",
        any="pcl | public company limited | co., ltd.",
    ),
    _j(
        "VN",
        "Vietnam",
        "VN",
        any="tnhh | công ty tnhh | công ty cổ phần | cổ phần | jsc | trách nhiệm hữu hạn",
        start="công ty | cong ty | cty",
    ),
    _j(
        "DE",
        "Germany",
        "DE",
        any="gmbh | g.m.b.h. | ggmbh | mbh | gmbh & co. kg | gmbh & co. kgaa | gmbh & co. ohg"
        " | ag & co. kg | ag & co. kgaa | kgaa | ohg | gbr | partg | partg mbb"
        " | ug (haftungsbeschränkt) | haftungsbeschränkt | aktiengesellschaft"
        " | gesellschaft mit beschränkter haftung | kommanditgesellschaft"
        " | kommanditgesellschaft auf aktien | offene handelsgesellschaft"
        " | eingetragene genossenschaft | eingetragener kaufmann | e.kfm.",
        end="ag | a.g. | kg | k.g. | ug | e.k. | e.v. | e.g. | eg | se",
    ),
    _j(
        "AT",
        "Austria",
        "AT",
        any="ges.m.b.h. | gesmbh | ges.mbh | gmbh | gesellschaft m.b.h.",
        end="ag | kg | og | e.u.",
    ),
    _j(
        "CH",
        "Switzerland and Liechtenstein",
        "CH LI",
        any="sàrl | s.à r.l. | sagl | s.a.g.l. | gmbh | aktiengesellschaft | société anonyme",
        end="ag | sa | s.a.",
    ),
    _j(
        "FR",
        "France",
        "FR MC",
        any="sarl | s.a.r.l. | sasu | s.a.s.u. | eurl | e.u.r.l. | selarl | selas | scop"
        " | société anonyme | société par actions simplifiée"
        " | société par actions simplifiée unipersonnelle | société à responsabilité limitée"
        " | entreprise unipersonnelle à responsabilité limitée | société en nom collectif",
        end="sa | s.a. | sas | s.a.s. | snc | s.n.c. | sci | s.c.i. | sca | gie | g.i.e.",
    ),
    _j(
        "BE",
        "Belgium",
        "BE",
        any="bvba | b.v.b.a. | sprl | s.p.r.l. | scrl | s.c.r.l. | cvba | c.v.b.a. | comm.v."
        " | commv | besloten vennootschap met beperkte aansprakelijkheid",
        end="nv | n.v. | bv | b.v. | srl | s.r.l. | sa | s.a. | cv | c.v. | vzw | asbl",
    ),
    _j(
        "NL",
        "Netherlands",
        "NL",
        any="besloten vennootschap | naamloze vennootschap | commanditaire vennootschap"
        " | vennootschap onder firma",
        end="bv | b.v. | nv | n.v. | vof | v.o.f. | cv | c.v.",
    ),
    _j(
        "LU",
        "Luxembourg",
        "LU",
        any="s.à r.l. | sàrl | sarl-s | secs | s.e.c.s. | société en commandite simple",
        end="sa | s.a. | sca | s.c.a. | scs",
    ),
    _j(
        "IT",
        "Italy",
        "IT SM",
        any="s.r.l. | srl | srls | s.r.l.s. | s.a.p.a. | sapa | scarl | s.c.a.r.l."
        " | società per azioni | società a responsabilità limitata"
        " | società a responsabilità limitata semplificata | società in nome collettivo"
        " | società in accomandita semplice",
        end="s.p.a. | sas | s.a.s. | snc | s.n.c. | scpa",
        word="spa",
    ),
    _j(
        "ES",
        "Spain",
        "ES AD",
        any="sociedad anónima | sociedad limitada | sociedad de responsabilidad limitada"
        " | sociedad limitada unipersonal | s.l.u. | s.a.u. | s.l.n.e. | s. coop. | s.coop."
        " | sociedad cooperativa",
        end="sa | s.a. | sl | s.l. | slu | sau | sll | s.l.l. | s.c.",
    ),
    _j(
        "PT",
        "Portugal",
        "PT",
        any="limitada | sociedade anónima | sociedade por quotas | unipessoal lda"
        " | unipessoal limitada",
        end="lda | lda. | l.da | sa | s.a.",
    ),
    _j(
        "BR",
        "Brazil",
        "BR",
        any="ltda | ltda. | eireli | sociedade anônima | sociedade limitada"
        " | sociedade empresária limitada",
        end="s/a | s.a. | sa | epp",
        word="me",
    ),
    _j(
        "MX",
        "Mexico",
        "MX",
        any="s.a. de c.v. | s.a.b. de c.v. | s.a.p.i. de c.v. | s. de r.l. de c.v."
        " | s. de r.l. | s. en c. | sociedad anónima de capital variable"
        " | sociedad de responsabilidad limitada de capital variable",
        end="sa | s.a. | sab | s.a.b.",
    ),
    _j(
        "AR",
        "Argentina, Uruguay and Paraguay",
        "AR UY PY",
        any="sacif | s.a.c.i.f. | saicf | s.a.i.c.f. | sacifi | s.a.c.i.f.i. | saicfi"
        " | s.a.i.c.f.i. | sacifia | s.a.c.i.f.i.a. | s.a.i.c.a. | saica | s.r.l."
        " | sociedad de responsabilidad limitada | sociedad anónima",
        end="saic | s.a.i.c. | saci | s.a.c.i. | sa | s.a. | sas | s.a.s. | sau | s.a.u.",
    ),
    _j(
        "CL",
        "Chile",
        "CL",
        any="ltda | limitada | eirl | e.i.r.l. | sociedad por acciones | sociedad anónima",
        end="sa | s.a.",
        word="spa",
    ),
    _j(
        "CO",
        "Colombia",
        "CO EC",
        any="ltda | sociedad por acciones simplificada",
        end="sas | s.a.s. | sa | s.a.",
    ),
    _j(
        "PE",
        "Peru and Bolivia",
        "PE BO",
        any="e.i.r.l. | eirl | s.r.l. | sociedad anónima cerrada",
        end="sac | s.a.c. | saa | s.a.a. | sa | s.a.",
    ),
    _j(
        "VE",
        "Venezuela",
        "VE",
        any="compañía anónima",
        end="ca | c.a. | sa | s.a.",
    ),
    _j(
        "PL",
        "Poland",
        "PL",
        any="sp. z o.o. | sp. zoo | sp.z o.o. | sp. z.o.o. | sp.zo.o. | spółka z o.o."
        " | spółka z ograniczoną odpowiedzialnością | spółka akcyjna | sp. j. | sp.j."
        " | sp. k. | sp.k. | spółka jawna | spółka komandytowa"
        " | spółka komandytowo-akcyjna | s.k.a. | sp. p. | spółka partnerska",
        end="sa | s.a.",
    ),
    _j(
        "CZ",
        "Czechia",
        "CZ",
        any="s.r.o. | spol. s r.o. | spol. s.r.o. | spol.s r.o. | v.o.s."
        " | společnost s ručením omezeným | akciová společnost"
        " | veřejná obchodní společnost | komanditní společnost",
        end="a.s. | as | k.s. | ks",
    ),
    _j(
        "SK",
        "Slovakia",
        "SK",
        any="s.r.o. | spol. s r.o. | spoločnosť s ručením obmedzeným | akciová spoločnosť"
        " | verejná obchodná spoločnosť",
        end="a.s. | as | k.s.",
    ),
    _j(
        "HU",
        "Hungary",
        "HU",
        any="kft | kft. | zrt | zrt. | nyrt | nyrt. | kkt | korlátolt felelősségű társaság"
        " | zártkörűen működő részvénytársaság | nyilvánosan működő részvénytársaság",
        end="rt | rt. | bt | bt. | kv",
    ),
    _j(
        "RO",
        "Romania and Moldova",
        "RO MD",
        any="s.r.l. | srl | societate cu răspundere limitată | societate pe acțiuni",
        end="sa | s.a. | pfa | ii | s.c. | sc",
    ),
    _j(
        "BG",
        "Bulgaria",
        "BG",
        any="ood | eood | ead | оод | еоод | еад | дружество с ограничена отговорност"
        " | еднолично дружество с ограничена отговорност",
        end="ad | a.d. | ад | ет | et",
    ),
    _j(
        "YU",
        "Croatia, Slovenia, Serbia, Bosnia, Montenegro and North Macedonia",
        "HR SI RS BA ME MK XK",
        any="d.o.o. | doo | d.o.o.e.l. | dooel | доо | дооел | društvo s ograničenom odgovornošću"
        " | družba z omejeno odgovornostjo | društvo sa ograničenom odgovornošću",
        end="d.d. | dd | a.d. | ad | k.d. | d.n.o. | s.p.",
    ),
    _j(
        "GR",
        "Greece and Cyprus",
        "GR CY",
        any="ε.π.ε. | επε | α.ε. | ι.κ.ε. | ικε | ο.ε. | ε.ε. | epe | e.p.e. | ike | i.k.e."
        " | ανώνυμη εταιρεία | εταιρεία περιορισμένης ευθύνης",
        end="ae | a.e. | oe | o.e. | ee | e.e.",
    ),
    _j(
        "TR",
        "Turkey",
        "TR",
        any="a.ş. | ltd. şti. | ltd şti | şti. | şti | anonim şirketi | limited şirketi"
        " | sanayi ve ticaret anonim şirketi | sanayi ve ticaret limited şirketi",
        end="as | a.s.",
    ),
    _j(
        "RU",
        "Russia, Belarus and Kazakhstan",
        "RU BY KZ KG TJ UZ AM AZ",
        any="ооо | оао | зао | пао | нао | одо | тоо | ojsc | cjsc | pjsc | jsc | ooo"
        " | open joint stock company | open joint-stock company | closed joint stock company"
        " | closed joint-stock company | public joint stock company"
        " | public joint-stock company | joint stock company | joint-stock company"
        " | общество с ограниченной ответственностью | акционерное общество"
        " | публичное акционерное общество | закрытое акционерное общество"
        " | открытое акционерное общество | непубличное акционерное общество"
        " | товарищество с ограниченной ответственностью",
        edge="oao | zao | pao | ао | ип",
        end="ao | too | odo",
    ),
    _j(
        "UA",
        "Ukraine",
        "UA",
        any="тов | пат | прат | тзов | товариство з обмеженою відповідальністю"
        " | приватне акціонерне товариство | публічне акціонерне товариство"
        " | акціонерне товариство",
        edge="tov | пп | фоп | ат",
        end="prat | pat | pp",
    ),
    _j(
        "EE",
        "Estonia",
        "EE",
        any="osaühing | aktsiaselts | täisühing | usaldusühing | mittetulundusühing",
        edge="oü",
        end="as | mtü",
    ),
    _j(
        "LV",
        "Latvia",
        "LV",
        any="sabiedrība ar ierobežotu atbildību | akciju sabiedrība",
        edge="sia",
        end="as | a/s",
    ),
    _j(
        "LT",
        "Lithuania",
        "LT",
        any="uždaroji akcinė bendrovė | akcinė bendrovė | mažoji bendrija",
        edge="uab",
        end="ab | mb | ii",
    ),
    _j(
        "FI",
        "Finland",
        "FI AX",
        any="oy | oyj | osakeyhtiö | julkinen osakeyhtiö | osuuskunta | avoin yhtiö"
        " | kommandiittiyhtiö | oy ab | ab oy",
        end="ab | ky | ay | tmi | osk | ry",
    ),
    _j(
        "SE",
        "Sweden",
        "SE",
        any="aktiebolag | aktiebolaget | handelsbolag | handelsbolaget | kommanditbolag"
        " | kommanditbolaget | ab (publ) | ekonomisk förening",
        end="ab | a.b. | hb | kb | publ | ek. för. | ek.för.",
    ),
    _j(
        "NO",
        "Norway",
        "NO SJ",
        any="aksjeselskap | allmennaksjeselskap | ansvarlig selskap | samvirkeforetak"
        " | norskregistrert utenlandsk foretak",
        end="as | a/s | asa | ans | ba | nuf | sa",
        word="da",
    ),
    _j(
        "DK",
        "Denmark, Greenland and the Faroe Islands",
        "DK GL FO",
        any="aktieselskab | aktieselskabet | anpartsselskab | anpartsselskabet"
        " | interessentskab | kommanditselskab | iværksætterselskab | amba | a.m.b.a."
        " | smba | s.m.b.a. | fmba",
        end="a/s | as | aps | k/s | ks | p/s | ivs",
        word="i/s | is",
    ),
    _j(
        "IS",
        "Iceland",
        "IS",
        any="ehf | ehf. | einkahlutafélag | hlutafélag",
        end="hf | hf. | sf | sf. | ses",
    ),
    _j(
        "IL",
        "Israel",
        "IL",
        any="ltd",
        end="b.m. | bm",
        word="limited",
    ),
    _j(
        "AE",
        "Gulf states",
        "AE SA QA BH OM KW",
        any="fzco | fz-co | fze | fz-llc | fzllc | fz llc | wll | w.l.l. | saoc | s.a.o.c."
        " | saog | s.a.o.g. | qpsc | q.p.s.c. | bsc (c) | pjsc | llc | l.l.c.",
        end="psc | spc | dmcc | bsc | b.s.c. | kscc | k.s.c.c. | ksc | k.s.c.",
    ),
    _j(
        "NG",
        "Nigeria, Kenya and Ghana",
        "NG KE GH",
        any="ltd/gte | plc | ltd | limited by guarantee",
        word="limited",
    ),
    _j(
        "PK",
        "Pakistan and Bangladesh",
        "PK BD LK",
        any="pvt ltd | (pvt) ltd | (private) limited | private limited | smc-pvt ltd | pvt",
        word="limited",
    ),
    _j(
        "EU",
        "European Union (cross-border forms)",
        "",
        any="societas europaea | europäische gesellschaft | eeig | ewiv",
        end="se | s.e.",
    ),
)

#: Legal forms in scripts written without spaces (or with quote marks inside the form),
#: cut out of the text before it is split into words, longer forms first so that
#: 股份有限公司 goes whole rather than leaving 股份. The list is still the one customer
#: keys of version 1 were defined with, so it is kept once, in the frozen module.
SCRIPT_FORMS: Final = _CJK_FORMS
