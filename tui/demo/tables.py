"""The demo generator's fixed data, read from the TOML files in ``tui/demo/data``.

``names.toml`` (word lists), ``world.toml`` (streams, DKIM, providers, platforms, causes),
``listmanager.toml`` (ListManager's own lookup tables) and the DKIM keys; the reply texts are
read by :mod:`tui.demo.replies`. Everything is loaded once, at import, into plain tuples and
dicts in file order: the generator draws from them with a seeded ``random.Random``, so their
order is part of what makes a build reproducible.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

DATA_PACKAGE = "tui.demo.data"


def load_toml(name: str) -> dict[str, Any]:
    """A data file of ``tui/demo/data`` parsed."""
    return tomllib.loads(resources.files(DATA_PACKAGE).joinpath(name).read_text("utf-8"))


def dkim_pem(stem: str) -> str:
    """The PEM text of the demo DKIM private key ``data/dkim-<stem>.pem``."""
    return resources.files(DATA_PACKAGE).joinpath(f"dkim-{stem}.pem").read_text("ascii")


@dataclass(frozen=True, slots=True)
class StreamDef:
    """A MailStream the demo can have: name, description, sender domain, volume, rhythm."""

    name: str
    description: str
    sender: str
    share: float
    rhythm: str  # office | campaign | smooth | weekly


@dataclass(frozen=True, slots=True)
class DkimDef:
    """A sender domain's DKIM selector and keys and its DMARC policy."""

    selector: str
    key: str  # stem of the private key ListManager holds
    dns_key: str | None  # stem of the key published in DNS when it is another one
    dmarc: str

    def with_(self, **changes: Any) -> DkimDef:
        """A copy with some fields changed."""
        values = {f: getattr(self, f) for f in ("selector", "key", "dns_key", "dmarc")}
        values.update(changes)
        return DkimDef(**values)


@dataclass(frozen=True, slots=True)
class ProviderDef:
    """A mailbox provider: domain, reply style, volume share in percent, MX records."""

    domain: str
    style: str
    share: float
    mx: tuple[tuple[int, str], ...]  # (preference, host); empty: shares mx_of's
    mx_of: str | None


@dataclass(frozen=True, slots=True)
class PlatformDef:
    """A business mail platform: name, reply style, share of the business domains."""

    name: str
    style: str
    share: float


@dataclass(frozen=True, slots=True)
class CauseDef:
    """A block cause: the CompletionStatusID of its replies, its weight, a short reason."""

    status: int
    weight: float
    short_reason: str


_names = load_toml("names.toml")
WORDS: tuple[str, ...] = tuple(_names["words"])
SUFFIXES: tuple[str, ...] = tuple(_names["suffixes"])
TLDS: tuple[str, ...] = tuple(_names["tlds"])
SYLLABLES: tuple[str, ...] = tuple(_names["syllables"])
FIRST_NAMES: tuple[str, ...] = tuple(_names["first_names"])
LAST_NAMES: tuple[str, ...] = tuple(_names["last_names"])

_world = load_toml("world.toml")
IP_RANGES: tuple[str, ...] = tuple(_world["ip_ranges"])
STREAMS: tuple[StreamDef, ...] = tuple(StreamDef(**s) for s in _world["streams"])
DKIM: dict[str, DkimDef] = {
    sender: DkimDef(d["selector"], d["key"], d.get("dns_key"), d["dmarc"])
    for sender, d in _world["dkim"].items()
}
PROVIDERS: tuple[ProviderDef, ...] = tuple(
    ProviderDef(
        p["domain"],
        p["style"],
        float(p["share"]),
        tuple((int(pref), str(host)) for pref, host in p.get("mx", ())),
        p.get("mx_of"),
    )
    for p in _world["providers"]
)
PLATFORMS: tuple[PlatformDef, ...] = tuple(PlatformDef(**p) for p in _world["platforms"])
CAUSE_DEFS: dict[str, CauseDef] = {name: CauseDef(**c) for name, c in _world["causes"].items()}
CAUSES: tuple[str, ...] = tuple(CAUSE_DEFS)
DNSBL_MAIN_SHARE: float = float(_world["dnsbl"]["main_share"])
DNSBL_ZONES: tuple[tuple[str, str], ...] = tuple(
    (z["zone"], z["url"]) for z in _world["dnsbl"]["zones"]
)

_lm = load_toml("listmanager.toml")
COMPLETION_STATUS: tuple[tuple[int, str], ...] = tuple(
    (int(code), str(label)) for code, label in _lm["completion_status"]
)
DAO_DEFINITIONS: tuple[tuple[int, int, int | None, int, str], ...] = tuple(
    (d["area"], d["pattern_type"], d.get("smtp_code"), d["classification"], d["pattern"])
    for d in _lm["dao_definitions"]
)
CONNECTION_LIMITS: tuple[tuple[str, int | None, int | None, int | None], ...] = tuple(
    (domain, c.get("connection_limit"), c.get("per_hour"), c.get("per_connection"))
    for domain, c in _lm["connection_limits"].items()
)
del _names, _world, _lm
