"""Merge reply texts that differ only in their variable parts (IPs, ids, times, hosts).

The database counts attempts by exact reply text; Gmail alone writes a different message id
into every reply. :func:`group_replies` folds every distinct text of a block into one group
per :func:`~tui.diagnose.classify.signature`, with the counts, dates and MX hosts of all its
variants added up. It reads the texts as a stream and keeps only the groups, so a block with a
million different replies takes bounded memory, and the counts are exact: each group's count
is the sum of the exact per-text counts of the texts that carry its signature (README "Where
the numbers come from").
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tui.db.records import ReplyGroup
from tui.diagnose.classify import Classification, classify, signature
from tui.textsafe import coerce_text

SAMPLE_TEXTS = 20
"""Each group keeps its most frequent texts up to this many (for the samples and the JSON)."""
TEXT_BUDGET = 8_000_000
"""Characters of sample texts kept over all groups; past it, a group keeps its top text only."""
MAX_GROUPS = 5000
"""Signature groups kept; the replies of any further signatures are added to one overflow
group (no real block has that many kinds of reply: hostile or broken data)."""
MAX_HOSTS = 200
"""MX hosts kept per group; the attempts of the others are added to one "other hosts" entry."""
MAX_COUNT = 10**12
PROGRESS_EVERY = 5000

OVERFLOW_SIGNATURE = "<more kinds of reply than lmtriage groups>"
OTHER_HOSTS = "(other hosts)"
NO_TEXT = "(no reply text recorded)"


def count_of(value: object) -> int:
    """A count from outside: an int in 0 … :data:`MAX_COUNT`, 0 when it is not a number."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
    return min(max(number, 0), MAX_COUNT)


def _pick(
    a: datetime | None, b: datetime | None, choose: Callable[[datetime, datetime], datetime]
) -> datetime | None:
    if a is None or b is None:
        return a or b
    try:
        return choose(a, b)
    except TypeError:  # naive against aware: keep the first
        return a


def earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    """The earlier of two times; the first when they cannot be compared (naive vs aware)."""
    return _pick(a, b, min)


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two times; the first when they cannot be compared."""
    return _pick(a, b, max)


@dataclass(slots=True)
class SignatureGroup:
    """Every attempt of a block whose reply text has one signature."""

    signature: str
    classification: Classification  # of the most frequent text
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    code: int | None = None  # the most frequent text's reply code
    variants: int = 0  # distinct texts (exact)
    top: list[tuple[int, str]] = field(default_factory=list)  # (count, text), most first
    mx_hosts: dict[str, int] = field(default_factory=dict)
    named_ips: dict[str, int] = field(default_factory=dict)  # watched IP → attempts naming it

    @property
    def texts(self) -> list[str]:
        """The most frequent texts kept (at most :data:`SAMPLE_TEXTS`), most attempts first."""
        return [t for _, t in self.top]

    @property
    def sample_text(self) -> str:
        """The most frequent variant's text."""
        return self.top[0][1] if self.top else ""

    @property
    def all_texts_known(self) -> bool:
        """True when :attr:`texts` holds every variant (the samples can then match by text)."""
        return self.variants <= len(self.top)

    @property
    def overflow(self) -> bool:
        """The group of replies past :data:`MAX_GROUPS` signatures."""
        return self.signature == OVERFLOW_SIGNATURE

    def top_hosts(self, n: int = 5) -> list[tuple[str, int]]:
        """The busiest MX hosts."""
        return sorted(self.mx_hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def to_json(self) -> dict[str, object]:
        """The documented JSON fields of ``lmtriage responses``."""
        c = self.classification
        return {
            "signature": self.signature,
            "category": c.category,
            "provider": c.provider,
            "enhanced_code": c.enhanced_code,
            "provider_code": c.provider_code,
            "code": self.code,
            "count": self.count,
            "variants": self.variants,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "sample_text": self.sample_text,
            "texts": [{"text": t, "count": n} for n, t in self.top],
            "mx_hosts": [{"host": h, "count": n} for h, n in self.top_hosts(MAX_HOSTS + 1)],
        }


@dataclass(slots=True)
class _Acc:
    """A group while the texts stream in: heap of the top texts (least first)."""

    signature: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    variants: int = 0
    heap: list[tuple[int, int, str, int | None]] = field(default_factory=list)
    mx_hosts: dict[str, int] = field(default_factory=dict)
    named_ips: dict[str, int] = field(default_factory=dict)


class _Budget:
    def __init__(self, chars: int) -> None:
        self.left = chars


def _keep_text(acc: _Acc, n: int, seq: int, text: str, code: int | None, budget: _Budget) -> None:
    """Keep ``text`` among the group's top texts if it is frequent enough (and fits)."""
    entry = (n, -seq, text, code)  # ties: the text seen first wins
    limit = SAMPLE_TEXTS if budget.left > 0 else 1
    if len(acc.heap) < limit:
        heapq.heappush(acc.heap, entry)
        budget.left -= len(text)
    elif entry[:2] > acc.heap[0][:2]:
        dropped = heapq.heapreplace(acc.heap, entry)
        budget.left += len(dropped[2]) - len(text)


def _acc_for(accs: dict[str, _Acc], key: str, first: Any = None, last: Any = None) -> _Acc:
    """The group of signature ``key``: a new one while fewer than :data:`MAX_GROUPS` exist,
    else the overflow group."""
    acc = accs.get(key)
    if acc is None:
        if len(accs) >= MAX_GROUPS:
            key = OVERFLOW_SIGNATURE
            acc = accs.get(key)
        if acc is None:
            acc = accs[key] = _Acc(key, first_seen=first, last_seen=last)
    return acc


def _add_hosts(acc: _Acc, hosts: Iterable[object]) -> None:
    for item in hosts or ():
        try:
            host, n = item  # type: ignore[misc]
        except (TypeError, ValueError):
            continue
        name = coerce_text(host)
        if name not in acc.mx_hosts and len(acc.mx_hosts) >= MAX_HOSTS:
            name = OTHER_HOSTS
        acc.mx_hosts[name] = acc.mx_hosts.get(name, 0) + count_of(n)


def group_replies(
    groups: Iterable[ReplyGroup],
    *,
    progress: Callable[[int, int], None] | None = None,
    sign: Callable[[str], str] = signature,
) -> list[SignatureGroup]:
    """Signature groups of a stream of per-text reply groups, most attempts first (ties: most
    recent first).

    Each text is signed once (signatures are cached by text), each group keeps its counts, its
    top texts and its MX hosts, so memory does not grow with the number of texts.
    ``progress(texts, attempts)`` is called every :data:`PROGRESS_EVERY` texts; it may raise to
    stop the work (a closed screen).
    """
    accs: dict[str, _Acc] = {}
    budget = _Budget(TEXT_BUDGET)
    attempts = 0
    for seq, group in enumerate(groups, 1):
        text = coerce_text(group.text)
        acc = _acc_for(accs, sign(text))
        n = count_of(group.count)
        acc.count += n
        acc.variants += 1
        acc.first_seen = earlier(acc.first_seen, group.first_seen)
        acc.last_seen = later(acc.last_seen, group.last_seen)
        code = group.code if isinstance(group.code, int) else None
        _keep_text(acc, n, seq, text, code, budget)
        _add_hosts(acc, group.mx_hosts)
        attempts += n
        if progress is not None and seq % PROGRESS_EVERY == 0:
            progress(seq, attempts)
    out = [_finish(acc) for acc in accs.values()]
    out.sort(key=lambda g: (-g.count, -_stamp(g.last_seen), g.signature))
    return out


def _ip_watcher(ips: Sequence[str]) -> re.Pattern[str] | None:
    """A regex finding any of ``ips`` as a whole address (``192.0.2.1`` not in ``192.0.2.10``)."""
    wanted = [ip for ip in dict.fromkeys(ips) if ip][:64]
    if not wanted:
        return None
    alternatives = "|".join(re.escape(ip) for ip in sorted(wanted, key=len, reverse=True))
    return re.compile(rf"(?<![\w.:])(?:{alternatives})(?![\w:]|\.\d)")


def group_rows(
    rows: Iterable[Sequence[Any]],
    *,
    progress: Callable[[int, int], None] | None = None,
    sign: Callable[[str], str] = signature,
    watch_ips: Sequence[str] = (),
) -> list[SignatureGroup]:
    """Signature groups of the rows of :func:`tui.db.queries.iter_reply_rows`: ``(text,
    host, highest code, count, first seen, last seen)`` per reply text and MX host, the rows
    of one text next to each other. The same result as :func:`group_replies` of the per-text
    groups, in one pass without building them (this is the drill-down's inner loop).

    ``watch_ips`` (the stream's IPs): each group counts the attempts whose reply names each
    of them (``named_ips``), over every text, not only the kept ones."""
    watch = _ip_watcher(watch_ips)
    text_ips: tuple[str, ...] = ()
    accs: dict[str, _Acc] = {}
    budget = _Budget(TEXT_BUDGET)
    texts = attempts = 0
    prev: object = _NOTHING
    acc: _Acc | None = None
    text = ""
    text_n = 0
    text_code: int | None = None
    for row in rows:
        raw, host, code, n, first, last = row
        if raw != prev or prev is _NOTHING:
            if acc is not None:
                _keep_text(acc, text_n, texts, text, text_code, budget)
                _add_named(acc, text_ips, text_n)
            prev = raw
            text = raw if type(raw) is str else coerce_text(raw)
            if watch is not None:
                text_ips = tuple(dict.fromkeys(watch.findall(text[:8192])))
            acc = _acc_for(accs, sign(text), first, last)
            acc.variants += 1
            texts += 1
            text_n = 0
            text_code = None
            if progress is not None and texts % PROGRESS_EVERY == 0:
                progress(texts, attempts)
        n = n if type(n) is int else count_of(n)
        text_n += n
        attempts += n
        acc.count += n  # type: ignore[union-attr]
        if code is not None and (text_code is None or code > text_code):
            text_code = code
        if first < acc.first_seen:  # type: ignore[operator,union-attr]
            acc.first_seen = first  # type: ignore[union-attr]
        if last > acc.last_seen:  # type: ignore[operator,union-attr]
            acc.last_seen = last  # type: ignore[union-attr]
        hosts = acc.mx_hosts  # type: ignore[union-attr]
        name = host if type(host) is str else coerce_text(host)
        if name in hosts:
            hosts[name] += n
        elif len(hosts) < MAX_HOSTS:
            hosts[name] = n
        else:
            hosts[OTHER_HOSTS] = hosts.get(OTHER_HOSTS, 0) + n
    if acc is not None:
        _keep_text(acc, text_n, texts, text, text_code, budget)
        _add_named(acc, text_ips, text_n)
    for a in accs.values():
        a.first_seen = _as_time(a.first_seen)
        a.last_seen = _as_time(a.last_seen)
    out = [_finish(a) for a in accs.values()]
    out.sort(key=lambda g: (-g.count, -_stamp(g.last_seen), g.signature))
    return out


_NOTHING = object()


def _add_named(acc: _Acc, ips: tuple[str, ...], n: int) -> None:
    for ip in ips:
        acc.named_ips[ip] = acc.named_ips.get(ip, 0) + n


def _as_time(value: object) -> datetime | None:
    """A time from the database: SQLite hands MIN/MAX of a DATETIME back as ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _stamp(when: datetime | None) -> float:
    if when is None:
        return 0.0
    try:
        return when.timestamp()
    except (OverflowError, ValueError, OSError):
        return 0.0


def _finish(acc: _Acc) -> SignatureGroup:
    ranked = sorted(acc.heap, reverse=True)
    top_count, _, top_text, top_code = ranked[0]
    return SignatureGroup(
        signature=acc.signature,
        classification=classify(top_text, top_code),
        count=acc.count,
        first_seen=acc.first_seen,
        last_seen=acc.last_seen,
        code=top_code,
        variants=acc.variants,
        top=[(n, t) for n, _, t, _ in ranked],
        mx_hosts=acc.mx_hosts,
        named_ips=acc.named_ips,
    )


def group_by_signature(groups: Iterable[ReplyGroup]) -> list[SignatureGroup]:
    """:func:`group_replies` without progress (the name older callers use)."""
    return group_replies(groups)
