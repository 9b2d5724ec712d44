"""Domain names typed by people: IDNA 2008 (UTS #46), never IDNA 2003's mapping."""

from __future__ import annotations

import dns.name
import pytest

from tui.domains import domain_name
from tui.errors import LmError


@pytest.mark.parametrize(
    "typed, ascii_name",
    [
        ("Straße.de", "xn--strae-oqa.de"),  # IDNA 2003 would say strasse.de: another domain
        ("MÜNCHEN.de", "xn--mnchen-3ya.de"),
        ("  Gmail.COM. ", "gmail.com"),
        ("xn--strae-oqa.de", "xn--strae-oqa.de"),
    ],
)
def test_domain_names_in_ascii_form(typed: str, ascii_name: str) -> None:
    assert domain_name(typed) == ascii_name


def test_dns_lookups_use_idna_2008_too() -> None:
    # dnspython switches to IDNA 2008 when the idna package is installed (a dependency).
    assert dns.name.from_text("Straße.de").to_text() == "xn--strae-oqa.de."


@pytest.mark.parametrize("bad", ["", "*", "%", "a..b", "-a.com", "../x", "a" * 64 + ".com"])
def test_not_domain_names(bad: str) -> None:
    with pytest.raises(LmError):
        domain_name(bad)


def test_spellings_match_both_idna_forms() -> None:
    from tui.domains import domain_spellings

    assert domain_spellings("Straße.de") == ("straße.de", "xn--strae-oqa.de")
    assert domain_spellings("XN--STRAE-OQA.de.") == ("xn--strae-oqa.de", "straße.de")
    assert domain_spellings("gmail.com") == ("gmail.com",)
    assert domain_spellings("%_[x]") == ("%_[x]",)  # not a name: matched as given, literally
    assert domain_spellings(" ") == ("",)  # never empty: a blank value stays an exact value
