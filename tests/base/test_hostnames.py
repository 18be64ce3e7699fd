"""Hostnames: the ASCII shortcut and the cache read every host as the IDNA codec does."""

import re

from hypothesis import given
from hypothesis import strategies as st

from partnerkit._base.countries import normalize_email, normalize_hostname
from partnerkit.errors import ValidationError

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _through_the_codec(value: str) -> str:
    """The hostname rules with every host passed through the IDNA codec."""
    host = _SCHEME.sub("", value.strip())
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError.single("", f"{value!r} is not a valid domain name") from None
    if host.count(".") >= 2:  # "www.com" is a name; "www." before more is a web prefix
        host = host.removeprefix("www.")
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
    return host


def _outcome(read: object, value: str) -> str:
    try:
        return read(value)  # type: ignore[operator,no-any-return]
    except ValidationError as error:
        return f"refused: {error}"


hosts = st.lists(
    st.sampled_from(["", "www", "a", "x" * 63, "x" * 64, "nørd", "Ex-Ample", "123", "-a"]),
    max_size=4,
).map(".".join) | st.text(alphabet="aZ.-/:@ ø1", max_size=20)


@given(hosts)
def test_hosts_read_as_through_the_idna_codec(value: str) -> None:
    assert _outcome(normalize_hostname, value) == _outcome(_through_the_codec, value)
    # Read twice: the second answer comes from the cache.
    assert _outcome(normalize_hostname, value) == _outcome(_through_the_codec, value)


def test_an_empty_label_in_an_ascii_host_is_refused_as_before() -> None:
    assert _outcome(normalize_hostname, "a..example") == (
        "refused: 'a..example' is not a valid domain name"
    )
    assert normalize_email("Aino@A.Example") == "Aino@a.example"


def test_www_is_dropped_only_where_it_is_a_prefix() -> None:
    assert normalize_hostname("https://WWW.Acme.com/about") == "acme.com"
    assert normalize_hostname("www.com") == "www.com"
    assert normalize_hostname("www.www.com") == "www.com"
    assert normalize_hostname(normalize_hostname("www.www.com")) == "www.com"
    assert normalize_email("jane@WWW.acme.com") == "jane@www.acme.com"
    assert normalize_email("jane@www.com") == "jane@www.com"
