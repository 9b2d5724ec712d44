"""Receiving-domain names given by people: checked, lower-cased, IDNs in their ASCII form.

Internationalised names follow IDNA 2008 with UTS #46 mapping (the ``idna`` package), so
``Straße.de`` is ``xn--strae-oqa.de`` (IDNA 2003 would map it to ``strasse.de``, another
domain). Wildcards, LIKE patterns, paths and over-long names are refused: a domain typed into
a write (a Domain Connection Limit) must name exactly one domain.
"""

from __future__ import annotations

import re

import idna

from tui.errors import LmError
from tui.textsafe import printable

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain_name(text: str, what: str = "domain") -> str:
    """``text`` as an ASCII domain name (lower case, no trailing dot), or :class:`LmError`."""
    raw = text.strip().rstrip(".") if isinstance(text, str) else ""
    shown = printable(text if isinstance(text, str) else repr(text), max_chars=60)
    if not raw:
        raise LmError(f"{what}: an empty name is not a domain", exit_code=2)
    if len(raw) > 253 * 4:
        raise LmError(f"{what}: {shown!s}… is far too long for a domain name", exit_code=2)
    try:
        ascii_name = raw.lower() if raw.isascii() else idna.encode(raw, uts46=True).decode()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise LmError(f"{what}: {shown} is not a valid domain name", exit_code=2) from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise LmError(
            f"{what}: {shown} is not a domain name (letters, digits and hyphens in dot-separated "
            "labels, at most 253 characters; no wildcards, paths or patterns)",
            exit_code=2,
        )
    if labels[-1].isdigit():
        raise LmError(f"{what}: {shown} is an address, not a domain name", exit_code=2)
    return ascii_name


def domain_spellings(text: str) -> tuple[str, ...]:
    """The forms a domain typed by a person may be stored in, for matching (not for writes):
    lower case as given, and its other IDNA form (``straße.de`` and ``xn--strae-oqa.de``);
    only the given form when it is not a valid IDN. Never empty (``""`` stays ``("",)``:
    an exact value, never "all")."""
    given = text.strip().rstrip(".").lower() if isinstance(text, str) else ""
    forms = [given]
    try:
        if not given.isascii():
            forms.append(idna.encode(given, uts46=True).decode().lower())
        elif "xn--" in given:
            forms.append(idna.decode(given).lower())
    except (idna.IDNAError, UnicodeError, ValueError):
        pass
    return tuple(dict.fromkeys(forms))
