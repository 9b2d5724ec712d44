"""The demo's SMTP replies: texts from ``data/replies.toml``, filled in from a seeded random.

A reply text is literal except for ``{placeholders}`` (the file's header lists them), compiled
once into a list of literal parts and draw functions. Rendering runs the parts left to right,
so the random values are drawn in the order they appear: a fixed order, which keeps builds
reproducible. Block replies are looked up per reply style and cause (:data:`BLOCK_TEMPLATES`);
background traffic has per-recipient failures (:data:`FAILURES`) and success replies
(:func:`success`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.demo.tables import DNSBL_MAIN_SHARE, DNSBL_ZONES, FIRST_NAMES, LAST_NAMES, load_toml

ALPHABETS = {
    "alnum": "abcdefghijklmnopqrstuvwxyz0123456789",
    "b62": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "queue": "BCDFGHJKLMNPQRSTVWXYZ0123456789",
}

Reply = tuple[int | None, str]


@dataclass(slots=True)
class Ctx:
    """The variable parts of one reply."""

    ip: str
    mx_host: str
    mx_ip: str
    domain: str
    sender: str
    ts: str  # "YYYY-MM-DD HH:MM:SS"
    epoch: int = 0  # success replies only

    def rcpt(self, r: random.Random) -> str:
        """A recipient address at the receiving domain."""
        style = r.random()
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        if style < 0.4:
            local = f"{first}.{last}"
        elif style < 0.7:
            local = f"{first[0]}{last}{r.randrange(1, 99)}"
        else:
            local = f"{first}{r.randrange(1950, 2010)}"
        return f"{local}@{self.domain}"

    def iso(self, r: random.Random) -> str:
        """The attempt's time as an ISO stamp with random milliseconds."""
        return f"{self.ts.replace(' ', 'T')}.{r.randrange(1000):03d}Z"


# --------------------------------------------------------------------------- small draws


def hex_digits(r: random.Random, n: int) -> str:
    """``n`` random lower-case hex digits."""
    return format(r.getrandbits(4 * n), f"0{n}x")


def alnum(r: random.Random, n: int, alphabet: str = ALPHABETS["alnum"]) -> str:
    """``n`` random characters of ``alphabet``."""
    return "".join(r.choices(alphabet, k=n))


def digits(r: random.Random, n: int) -> str:
    """A random ``n``-digit number."""
    return str(r.randrange(10 ** (n - 1), 10**n))


def gmail_id(r: random.Random) -> str:
    """A Gmail per-message id (the token before ``- gsmtp``)."""
    lower = ALPHABETS["lower"]
    if r.random() < 0.5:
        return (
            f"{hex_digits(r, 13)}-{hex_digits(r, 11)}si{digits(r, 7)}{alnum(r, 2, lower)}"
            f".{r.randrange(100, 999)}"
        )
    return (
        f"{alnum(r, 1, lower)}{r.randrange(1, 99)}si{digits(r, 7)}{alnum(r, 3, lower)}"
        f".{r.randrange(1, 999)}"
    )


def _eop_host(r: random.Random) -> str:
    pfx = r.choice(("BN8", "DM6", "SN1", "CO1", "MW2", "BY2", "CY4", "SA2", "DS1"))
    n = r.randrange(10, 99)
    return f"{pfx}NAM{n}FT{r.randrange(10, 99):03d}.eop-nam{n}.prod.protection.outlook.com"


def _ms_tail(r: random.Random, c: Ctx) -> str:
    return f"[{_eop_host(r)} {c.iso(r)} {hex_digits(r, 16).upper()}]"


def _comcast_host(r: random.Random, c: Ctx) -> str:
    site = r.choice(("po", "ch2", "ccx", "sa"))
    return f"resimta-{site}-{r.randrange(10, 40)}v.sys.comcast.net"


def _orange_host(r: random.Random, c: Ctx) -> str:
    return f"mwinf{r.randrange(5, 7)}{r.choice('cd')}{r.randrange(10, 99)}"


def _gmx_host(r: random.Random, c: Ctx) -> str:
    if "web.de" in c.domain:
        return f"web.de (mxweb{r.randrange(100, 120)})"
    return f"gmx.net (mxgmx{r.randrange(100, 120)})"


def _dnsbl(r: random.Random, c: Ctx) -> str:
    """``zone; lookup URL`` of the blocklist a Postfix site cites."""
    zone, url = DNSBL_ZONES[0] if r.random() < DNSBL_MAIN_SHARE else r.choice(DNSBL_ZONES[1:])
    return f"{zone}; {url.format(ip=c.ip)}"


def _ms_transfer(r: random.Random, c: Ctx) -> str:
    size = r.randrange(9000, 90000)
    secs = r.uniform(0.05, 0.9)
    return f"{size} bytes in {secs:.3f}, {size / 1024 / secs:.3f} KB/sec"


Draw = Callable[[random.Random, Ctx], Any]

# Placeholders without arguments that draw (or read the context).
TOKENS: dict[str, Draw] = {
    "ip": lambda r, c: c.ip,
    "sender": lambda r, c: c.sender,
    "domain": lambda r, c: c.domain,
    "mx_host": lambda r, c: c.mx_host,
    "mx_ip": lambda r, c: c.mx_ip,
    "epoch": lambda r, c: c.epoch,
    "rcpt": lambda r, c: c.rcpt(r),
    "iso": lambda r, c: c.iso(r),
    "gid": lambda r, c: gmail_id(r),
    "ms_tail": _ms_tail,
    "comcast_host": _comcast_host,
    "orange_host": _orange_host,
    "gmx_host": _gmx_host,
    "dnsbl": _dnsbl,
    "ms_transfer": _ms_transfer,
}


def _with_args(name: str, args: list[str]) -> Draw:
    if name == "int":
        lo, hi = int(args[0]), int(args[1])
        return lambda r, c: r.randrange(lo, hi)
    if name == "hex":
        n = int(args[0])
        return lambda r, c: hex_digits(r, n)
    if name == "digits":
        n = int(args[0])
        return lambda r, c: digits(r, n)
    if name == "alnum":
        n, alphabet = int(args[0]), ALPHABETS[args[1] if len(args) > 1 else "alnum"]
        return lambda r, c: alnum(r, n, alphabet)
    if name == "choice":
        words = tuple(args[0].split(","))
        return lambda r, c: r.choice(words)
    raise ValueError(f"unknown placeholder {name!r}")


_PLACEHOLDER = re.compile(r"\{([a-z_]+)((?::[^:}|]*)*)(?:\|([^}]+))?\}")

Part = str | Draw | tuple[str, str | None]  # literal, draw, or (a var's name, format spec)


def _draw(expr: str, variables: tuple[str, ...]) -> Part:
    """One placeholder expression (without braces) as a part."""
    m = _PLACEHOLDER.fullmatch("{" + expr + "}")
    if m is None:
        raise ValueError(f"bad placeholder {{{expr}}}")
    name, raw_args, spec = m.group(1), m.group(2), m.group(3)
    args = raw_args.split(":")[1:] if raw_args else []
    if name in variables and not args:
        return (name, spec)
    if args:
        base = _with_args(name, args)
    elif name in TOKENS:
        base = TOKENS[name]
    else:
        raise ValueError(f"unknown placeholder {{{expr}}}")
    if spec is None:
        return base
    return lambda r, c: _format(base(r, c), spec)


def _format(value: Any, spec: str | None) -> str:
    if spec is None:
        return str(value)
    if spec == "upper":
        return str(value).upper()
    return format(value, spec)


def compile_text(text: str, variables: tuple[str, ...] = ()) -> tuple[Part, ...]:
    """A reply text as literal parts and draws, in order."""
    parts: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(_draw(m.group(0)[1:-1], variables))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    if any("{" in p or "}" in p for p in parts if isinstance(p, str)):
        raise ValueError(f"unparsed placeholder in {text!r}")
    return tuple(parts)


_WRAPPED: dict[tuple[str, str], str] = {}


def _wrap_lines(code: str, body: str) -> str:
    words = body.split(" ")
    lines: list[str] = []
    line: list[str] = []
    for word in words:
        line.append(word)
        if sum(len(w) + 1 for w in line) > 62:
            lines.append(" ".join(line))
            line = []
    if line:
        lines.append(" ".join(line))
    basic, enhanced = code.split(" ")
    parts = [f"{basic}-{enhanced} {text}" for text in lines[:-1]]
    parts.append(f"{basic} {enhanced} {lines[-1]}")
    return " ".join(parts)


def google_wrap(code: str, body: str, r: random.Random) -> str:
    """Gmail's multi-line reply joined ListManager-style: ``550-5.7.1 ...`` continuation tags."""
    head = _WRAPPED.get((code, body))
    if head is None:
        if len(_WRAPPED) > 20_000:
            _WRAPPED.clear()
        head = _WRAPPED[(code, body)] = _wrap_lines(code, body)
    return f"{head} {gmail_id(r)} - gsmtp"


def _parse_vars(table: dict[str, Any]) -> tuple[tuple[str, Part], ...]:
    """``vars`` of an entry, compiled in order (each may use the ones before it)."""
    out: list[tuple[str, Part]] = []
    for name, expr in (table.get("vars") or {}).items():
        out.append((name, _draw(expr, tuple(n for n, _ in out))))
    return tuple(out)


def _run(parts: tuple[Part, ...], r: random.Random, c: Ctx, values: dict[str, Any]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, tuple):
            out.append(_format(values[p[0]], p[1]))
        else:
            out.append(str(p(r, c)))
    return "".join(out)


def _draw_vars(
    pairs: tuple[tuple[str, Part], ...], r: random.Random, c: Ctx, values: dict[str, Any]
) -> None:
    for name, part in pairs:
        values[name] = values[part[0]] if isinstance(part, tuple) else part(r, c)


@dataclass(frozen=True, slots=True)
class Template:
    """One reply: its code, its text compiled, optional vars and Gmail wrapping."""

    name: str
    code: int | None
    parts: tuple[Part, ...]
    variables: tuple[tuple[str, Part], ...] = ()
    wrap: str | None = None
    p: float | None = None  # share among the entries serving the same style
    styles: tuple[str, ...] = ()  # empty: every style without its own entry

    @classmethod
    def from_table(cls, name: str, table: dict[str, Any], outer: tuple[str, ...] = ()) -> Template:
        """An entry of replies.toml; ``outer`` names vars drawn before it (by its kind)."""
        variables = _parse_vars(table)
        known = outer + tuple(n for n, _ in variables)
        return cls(
            name=name,
            code=table.get("code"),
            parts=compile_text(table["text"], known),
            variables=variables,
            wrap=table.get("wrap"),
            p=table.get("p"),
            styles=tuple(table.get("styles", ())),
        )

    def render(self, r: random.Random, c: Ctx, values: dict[str, Any] | None = None) -> Reply:
        """The reply for one attempt."""
        values = {} if values is None else values
        _draw_vars(self.variables, r, c, values)
        text = _run(self.parts, r, c, values)
        if self.wrap is not None:
            text = google_wrap(self.wrap, text, r)
        return self.code, text

    def __call__(self, r: random.Random, c: Ctx) -> Reply:
        return self.render(r, c)


class StyleChoice:
    """Entries of one kind of reply chosen per style: its own entries, else the defaults;
    where several serve a style, one ``random()`` draw picks by their ``p``."""

    def __init__(
        self, entries: list[Template], variables: tuple[tuple[str, Part], ...] = ()
    ) -> None:
        self.variables = variables
        self.defaults = [e for e in entries if not e.styles]
        self.by_style: dict[str, list[Template]] = {}
        for e in entries:
            for style in e.styles:
                self.by_style.setdefault(style, []).append(e)

    def render(self, style: str, r: random.Random, c: Ctx) -> Reply:
        """The reply of ``style`` for one attempt."""
        values: dict[str, Any] = {}
        _draw_vars(self.variables, r, c, values)
        options = self.by_style.get(style) or self.defaults
        chosen = options[-1]
        if len(options) > 1:
            x, acc = r.random(), 0.0
            for option in options[:-1]:
                acc += option.p or 0.0
                if x < acc:
                    chosen = option
                    break
        return chosen.render(r, c, values)


@dataclass(frozen=True, slots=True)
class FailureKind:
    """A per-recipient failure of background traffic."""

    name: str
    status: int
    provider_rate: float
    business_rate: float
    only_styles: tuple[str, ...]
    replies: StyleChoice

    def rate(self, style: str, provider: bool) -> float:
        """How often an attempt to a domain of this style fails this way."""
        if self.only_styles and style not in self.only_styles:
            return 0.0
        return self.provider_rate if provider else self.business_rate


def _load() -> tuple[
    dict[str, dict[str, list[tuple[Template, float]]]], dict[str, FailureKind], StyleChoice
]:
    data = load_toml("replies.toml")
    named = {name: Template.from_table(name, t) for name, t in data["block"].items()}
    styles = {
        style: {cause: [(named[t], float(p)) for t, p in uses] for cause, uses in causes.items()}
        for style, causes in data["styles"].items()
    }
    failures: dict[str, FailureKind] = {}
    for kind, spec in data["failure_kinds"].items():
        outer = _parse_vars(spec)
        names = tuple(n for n, _ in outer)
        entries = [Template.from_table(kind, t, names) for t in data["failures"][kind]]
        failures[kind] = FailureKind(
            kind,
            int(spec["status"]),
            float(spec["rate"]["provider"]),
            float(spec["rate"]["business"]),
            tuple(spec.get("only_styles", ())),
            StyleChoice(entries, outer),
        )
    successes = StyleChoice([Template.from_table("success", t) for t in data["success"]])
    return styles, failures, successes


# style -> cause -> [(template, probability that a block with it is Permanent)]
BLOCK_TEMPLATES: dict[str, dict[str, list[tuple[Template, float]]]]
FAILURES: dict[str, FailureKind]
_SUCCESS: StyleChoice
BLOCK_TEMPLATES, FAILURES, _SUCCESS = _load()


def success(style: str, r: random.Random, sender: str, epoch: int) -> str:
    """A 250 reply of ``style`` for mail from ``sender`` accepted at ``epoch``."""
    return _SUCCESS.render(style, r, Ctx("", "", "", "", sender, "", epoch))[1]


def failure_rates(style: str, provider: bool) -> list[tuple[float, str]]:
    """Cumulative thresholds over ``random()`` for the per-recipient failures of a domain."""
    out: list[tuple[float, str]] = []
    acc = 0.0
    for kind in FAILURES.values():
        p = kind.rate(style, provider)
        if p > 0:
            acc += p
            out.append((acc, kind.name))
    return out
