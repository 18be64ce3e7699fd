"""ISO 3166-1 alpha-2 country codes, and the hostname and email checks partners need."""

from __future__ import annotations

import functools
import re
from typing import Final

from partnerkit.errors import ValidationError

# The 249 officially assigned codes, plus XK (Kosovo), user-assigned but used by
# the EU, SWIFT and most CRMs.
COUNTRIES: Final = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
    """.split()  # noqa: SIM905 - a table reads better than 250 quoted strings
)


def check_country(value: object) -> str:
    """Return the upper-cased ISO 3166-1 alpha-2 code, or raise `ValidationError`."""
    if not isinstance(value, str):
        raise ValidationError.single(
            "", f"expected an ISO 3166-1 alpha-2 code such as 'FI', got {type(value).__name__}"
        )
    code = value.strip().upper()
    if code not in COUNTRIES:
        hint = " (the UK is 'GB')" if code == "UK" else ""
        raise ValidationError.single(
            "", f"unknown country {value!r}{hint}; use an ISO 3166-1 alpha-2 code such as 'FI'"
        )
    return code


_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# What the local part of an address may not hold: whitespace (as str.isspace sees
# it) and the characters that delimit addresses in headers.
_BAD_LOCAL: Final = re.compile(r'[\s\x1c-\x1f<>(),;:"]')


def normalize_hostname(value: object) -> str:
    """Read a website domain from a bare host or a URL: lowercase, IDNA, no ``www.``.

    ``"https://WWW.Nørd.fi:443/about"`` becomes ``"xn--nrd-kla.fi"``. A ``www``
    that is the name itself (``www.com``) stays.

    Raises:
        ValidationError: If no valid hostname with at least two labels is found.
    """
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected a domain string, got {type(value).__name__}")
    return split_hostname(value)[0]


# Partners, contacts and customers repeat a small set of hosts; normalising one
# costs microseconds, looking it up a fraction of that. Refusals are not cached.
@functools.lru_cache(maxsize=8192)
def split_hostname(value: str) -> tuple[str, str]:
    """`normalize_hostname` of ``value``, and the ``"www."`` it dropped (else ``""``).

    Raises:
        ValidationError: As `normalize_hostname`.
    """
    host = _SCHEME.sub("", value.strip())
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValidationError.single("", f"{value!r} is not a valid domain name") from None
    elif host and any(not 0 < len(label) < 64 for label in host.split(".")):
        # What the IDNA codec refuses in an ASCII name, refused in its words.
        raise ValidationError.single("", f"{value!r} is not a valid domain name")
    dropped = ""
    if host.startswith("www.") and host.count(".") >= 2:
        # A web prefix, not the name: "www.com" keeps it, so reading twice changes nothing.
        host, dropped = host[4:], "www."
    labels = host.split(".")
    if (
        len(labels) < 2
        or len(host) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError.single(
            "", f"{value!r} is not a domain name; write it like 'example.com'"
        )
    return host, dropped


def normalize_email(value: object) -> str:
    """Check an email address and lowercase its domain (the local part is kept as is).

    Raises:
        ValidationError: If it is not ``local@domain.tld``.
    """
    if not isinstance(value, str):
        raise ValidationError.single("", f"expected an email address, got {type(value).__name__}")
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or _BAD_LOCAL.search(local) is not None:
        raise ValidationError.single(
            "", f"{value!r} is not an email address; write it like 'name@example.com'"
        )
    try:
        host, dropped = split_hostname(domain)
    except ValidationError:
        raise ValidationError.single(
            "", f"{value!r} is not an email address; its domain {domain!r} is not valid"
        ) from None
    # normalize_hostname drops "www."; an address at a www host is rare but real.
    return f"{local}@{dropped}{host}"
