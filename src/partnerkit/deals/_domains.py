"""Registrable domains from URLs, emails and hosts, with the Public Suffix List.

The list ships beside this module as ``_public_suffix_list.dat`` (MPL-2.0, see
its header): the ICANN section (``co.uk``, ``com.au``, ``kawasaki.jp``...) and the
private section (``github.io``, ``myshopify.com``, ``azurewebsites.net``...). Both
are used because a deal's customer is whoever controls the name: two shops at
``acme.myshopify.com`` and ``zenith.myshopify.com`` are two customers, and treating
``myshopify.com`` as their shared domain would report a false conflict between them.
The file is read once, on first use (about 10,000 rules, a few milliseconds).
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Final

import attrs

from partnerkit._base.countries import split_hostname
from partnerkit.errors import ValidationError

__all__ = [
    "SHARED_EMAIL_DOMAINS",
    "email_domain",
    "registrable_domain",
]

_DATA_FILE: Final = "_public_suffix_list.dat"

#: Mailbox providers whose addresses say nothing about the customer's organisation:
#: two contacts at ``gmail.com`` are not one company. Registrable domains.
SHARED_EMAIL_DOMAINS: Final = frozenset(
    """
    gmail.com googlemail.com outlook.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de
    hotmail.it hotmail.es live.com live.co.uk live.fr live.de msn.com yahoo.com
    yahoo.co.uk yahoo.fr yahoo.de yahoo.it yahoo.es yahoo.co.jp yahoo.com.br yahoo.in
    yahoo.com.au ymail.com rocketmail.com aol.com icloud.com me.com mac.com proton.me
    protonmail.com protonmail.ch pm.me tutanota.com tutanota.de tuta.io fastmail.com
    hey.com zoho.com zohomail.com mail.com email.com usa.com gmx.com gmx.net gmx.de
    gmx.at gmx.ch web.de t-online.de freenet.de posteo.de mailbox.org mail.ru bk.ru
    inbox.ru list.ru yandex.ru yandex.com ya.ru rambler.ru qq.com 163.com 126.com
    yeah.net sina.com sina.cn sohu.com aliyun.com naver.com daum.net hanmail.net
    orange.fr wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it
    seznam.cz wp.pl o2.pl onet.pl interia.pl uol.com.br bol.com.br terra.com.br
    rediffmail.com btinternet.com sky.com comcast.net verizon.net att.net sbcglobal.net
    cox.net shaw.ca rogers.com bigpond.com optusnet.com.au xtra.co.nz luukku.com
    suomi24.fi online.no hotmail.no telia.com abv.bg ukr.net i.ua
    """.split()  # noqa: SIM905 - a table reads better than a hundred quoted strings
)


@attrs.frozen
class _Rules:
    """The parsed list: plain rules, wildcard parents (``*.ck`` is ``ck``), exceptions."""

    plain: frozenset[str]
    wildcard: frozenset[str]
    exception: frozenset[str]
    exception_ends: frozenset[str] = attrs.field(init=False)
    """The last label of each exception rule (``jp`` for ``!city.kawasaki.jp``)."""

    def __attrs_post_init__(self) -> None:
        ends = frozenset(rule.rpartition(".")[2] for rule in self.exception)
        object.__setattr__(self, "exception_ends", ends)


def _to_ascii(rule: str) -> str:
    # The list is written in Unicode; hostnames reach us IDNA-encoded.
    return ".".join(
        label if label == "*" else label.encode("idna").decode("ascii")
        for label in rule.lower().split(".")
    )


@functools.cache
def _rules(*, private: bool) -> _Rules:
    text = (
        importlib.resources.files(__package__ or "partnerkit.deals")
        .joinpath(_DATA_FILE)
        .read_text(encoding="utf-8")
    )
    plain: set[str] = set()
    wildcard: set[str] = set()
    exception: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("// ===BEGIN PRIVATE DOMAINS===") and not private:
            break
        if not line or line.startswith("//"):
            continue
        rule = line.split()[0]
        if rule.startswith("!"):
            exception.add(_to_ascii(rule[1:]))
        elif rule.startswith("*."):
            wildcard.add(_to_ascii(rule[2:]))
        else:
            plain.add(_to_ascii(rule))
    return _Rules(frozenset(plain), frozenset(wildcard), frozenset(exception))


def _registrable(host: str, rules: _Rules) -> str | None:
    """The public suffix plus one label, or None when ``host`` is itself a suffix.

    The Public Suffix List algorithm: an exception rule wins; otherwise the
    matching rule with the most labels; otherwise the last label alone ("*").
    """
    labels = host.split(".")
    count = len(labels)
    if count == 2:
        # The usual "name.tld": registrable unless it is a suffix itself.
        if host in rules.exception:
            return host
        if host in rules.plain or labels[1] in rules.wildcard:
            return None
        return host
    if labels[-1] in rules.exception_ends:
        for start in range(count):
            if ".".join(labels[start:]) in rules.exception:
                # "!city.kawasaki.jp": the suffix is "kawasaki.jp", so the exception
                # name itself is registrable.
                return ".".join(labels[start:])
    # Each suffix of the host, longest first, with the one a label longer before it.
    longer = None
    suffix = host
    while True:
        parent = suffix.partition(".")[2]
        if suffix in rules.plain or (parent and parent in rules.wildcard):
            return longer  # None when the whole host is a public suffix
        if not parent:
            # No rule: the last label is the suffix ("*").
            return longer
        longer, suffix = suffix, parent


@functools.lru_cache(maxsize=65536)
def _registrable_cached(value: str, private: bool) -> str:
    try:
        host, dropped = split_hostname(value)
    except ValidationError:
        raise ValidationError.single(
            "",
            f"{value!r} is not a website, email address or host name; write it like "
            f"'https://www.example.co.uk/about', 'name@example.com' or 'example.com'",
        ) from None
    try:
        return _reduce(host, private)
    except ValidationError:
        if not dropped:
            raise
    # "www.co.uk" is a name registered under "co.uk", not a web prefix on it.
    return _reduce(dropped + host, private)


# A customer's website and contact email usually share a host: reduce it once.
@functools.lru_cache(maxsize=65536)
def _reduce(host: str, private: bool) -> str:
    found = _registrable(host, _rules(private=private))
    if found is None:
        raise ValidationError.single(
            "",
            f"{host!r} is a public suffix that anyone can register names under, not a "
            f"company's domain; give the full domain, such as 'example.{host}'",
        )
    return found


def registrable_domain(value: str, *, private: bool = True) -> str:
    """The domain a company registered, from a URL, an email address or a host name.

    Lowercases, encodes international names with IDNA, strips the scheme, user,
    port, path, query and ``www.``, then reduces the host to its registrable domain
    with the Public Suffix List: ``https://www.shop.acme.co.uk:8443/x`` is
    ``acme.co.uk``, ``sales@eu.acme.com.au`` is ``acme.com.au``. Exception and
    wildcard rules are honoured (``city.kawasaki.jp`` is registrable under
    ``*.kawasaki.jp``). A ``www`` that is the registered name itself stays
    (``www.co.uk``). Applying it twice gives the same result.

    Args:
        value: A URL, an email address or a bare host name.
        private: Also use the list's private section, so that a site hosted at
            ``acme.github.io`` is ``acme.github.io`` rather than ``github.io``. Keep
            the default unless you compare with a system that uses ICANN rules only.

    Raises:
        ValidationError: If ``value`` holds no valid host name, or the host is a
            public suffix itself (``co.uk``).
    """
    if not isinstance(value, str):
        raise ValidationError.single(
            "", f"expected a URL, email address or host name, got {type(value).__name__}"
        )
    return _registrable_cached(value.strip(), private)


def email_domain(address: str) -> str | None:
    """The registrable domain of an email address, or None for a shared mailbox provider.

    ``jane@eu.acme.co.uk`` gives ``acme.co.uk``; ``jane@gmail.com`` gives None,
    because a free-mail domain says nothing about which company Jane works for.

    Raises:
        ValidationError: If the address has no valid domain.
    """
    domain = registrable_domain(address.rpartition("@")[2])
    return None if domain in SHARED_EMAIL_DOMAINS else domain
