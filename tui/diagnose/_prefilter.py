"""Match one short text against many regexes cheaply.

Running a hundred regexes over every reply costs more than everything else put together, and
most of them cannot match: a rule about Orange's ``OFR_999`` needs the letters ``ofr`` somewhere.
So each regex is split into its top-level alternatives, the literal text every match of an
alternative must contain is derived from the parsed regex (its *anchors*), and each anchor is
indexed under a short *key*: the first three characters of a word it contains that is known to
start a word of the text. The text is cut into words once; only the alternatives whose key is among the
text's words are checked (``in``, then the regex). Alternatives without a usable key are always
checked. The result is exactly what searching every regex would give, in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

T = TypeVar("T")

# Words are runs of anything but ASCII punctuation/space: the same cut for texts and anchors.
_SEPARATORS = {c: " " for c in range(128) if not (chr(c).isascii() and chr(c).isalnum())}
_SEP_TABLE = str.maketrans(_SEPARATORS)
_WORD = re.compile(r"[^ ]+")
_EXPAND_LIMIT = 16
KEY_LEN = 4
WORD_START = r"(?<![a-z0-9])"
"""Prefixed to every alternative of a ``word_start`` rule book: no match starts inside a word."""

# The literal, and whether a word boundary is known to precede / to follow it.
Anchor = tuple[str, bool, bool]
Anchors = frozenset[Anchor] | None


def text_keys(text: str) -> set[str]:
    """The keys of a text: the first four and the first two characters of each of its words.

    An anchor is indexed under the best of these it can guarantee: the first four letters of a
    word it starts, a whole word of up to four letters, or the first two letters of a word it
    starts.
    """
    words = set(text.translate(_SEP_TABLE).split())
    keys = {w[:KEY_LEN] for w in words}
    keys.update([w[:2] for w in words])
    return keys


def anchor_key(anchor: Anchor) -> str | None:
    """The key under which ``anchor`` is indexed, or None when no word of it surely starts one."""
    literal, left, right = anchor
    cut = literal.translate(_SEP_TABLE)
    for m in _WORD.finditer(cut):
        word = m.group(0)
        if m.start() == 0 and not left:
            continue  # may start in the middle of a word of the text
        if len(word) >= KEY_LEN:
            return word[:KEY_LEN]
        if m.end() < len(cut) or right:
            return word  # a whole short word: the text has exactly this word
        if len(word) >= 2:
            return word[:2]  # the first letters of a word of the text
    return None


def _score(anchors: frozenset[Anchor]) -> tuple[int, int, int]:
    keyable = all(anchor_key(a) is not None for a in anchors)
    return (int(keyable), min(len(a[0]) for a in anchors), -len(anchors))


def _pick(best: Anchors, found: Anchors) -> Anchors:
    if found is None:
        return best
    if best is None or _score(found) > _score(best):
        return found
    return best


_BOUNDARY_AT = {_c.AT_BOUNDARY, _c.AT_BEGINNING, _c.AT_BEGINNING_STRING}
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT}
if hasattr(_c, "POSSESSIVE_REPEAT"):
    _REPEATS.add(_c.POSSESSIVE_REPEAT)


def _ends_with_separator(items: Any) -> bool:
    """True when the sequence's last element is a literal that separates words (``"is "``)."""
    if not len(items):
        return False
    op, av = items[-1]
    if op is _c.LITERAL:
        return not chr(av).isalnum()
    if op is _c.SUBPATTERN:
        return _ends_with_separator(av[3])
    if op is _c.BRANCH:
        return all(_ends_with_separator(b) for b in av[1])
    return False


def _seq_anchors(items: Any, bounded: bool = False) -> Anchors:
    """Literals at least one of which occurs in every text the sequence matches.

    A small character class (``[ea]``) or an optional character (``e-?mail``) multiplies a run
    of literals into a few alternatives instead of ending it.
    """
    best: Anchors = None
    run: set[str] = {""}
    run_bounded = bounded
    prev_boundary = bounded

    def flush(right: bool = False) -> None:
        nonlocal best, run
        if all(len(r) >= 2 for r in run):
            best = _pick(best, frozenset((r, run_bounded, right) for r in run))
        run = {""}

    for op, av in items:
        if op is _c.LITERAL:
            if run == {""}:
                run_bounded = prev_boundary
            run = {r + chr(av) for r in run}
            prev_boundary = False
            continue
        if (
            op is _c.IN
            and all(o is _c.LITERAL for o, _ in av)
            and len(run) * len(av) <= _EXPAND_LIMIT
        ):
            if run == {""}:
                run_bounded = prev_boundary
            run = {r + chr(ch) for r in run for _, ch in av}
            prev_boundary = False
            continue
        if (
            op is _c.MAX_REPEAT
            and av[0] == 0
            and av[1] == 1
            and len(av[2]) == 1
            and av[2][0][0] is _c.LITERAL
            and run != {""}
            and len(run) * 2 <= _EXPAND_LIMIT
        ):
            ch = chr(av[2][0][1])
            run = run | {r + ch for r in run}
            continue
        if (
            op is _c.MAX_REPEAT
            and av[0] == av[1]
            and av[0] <= 8
            and len(av[2]) == 1
            and av[2][0][0] is _c.LITERAL
        ):
            if run == {""}:
                run_bounded = prev_boundary
            ch = chr(av[2][0][1]) * av[0]
            run = {r + ch for r in run}
            prev_boundary = False
            continue
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: neither ends a run's boundary nor consumes text
        if op is _c.AT:
            at_boundary = av in _BOUNDARY_AT or av in (_c.AT_END, _c.AT_END_STRING)
            flush(right=at_boundary)
            prev_boundary = at_boundary
            continue
        flush()
        if op in _REPEATS and av[0] == 0:
            # An optional part: what follows starts a word if both the optional text and what
            # preceded it end at a word boundary ("(?:session )?encryption").
            prev_boundary = prev_boundary and _ends_with_separator(av[2])
            continue
        if op is _c.SUBPATTERN:
            best = _pick(best, _seq_anchors(av[3], prev_boundary))
        elif op is _c.ATOMIC_GROUP:
            best = _pick(best, _seq_anchors(av, prev_boundary))
        elif op is _c.BRANCH:
            alts = [_seq_anchors(b, prev_boundary) for b in av[1]]
            if all(a is not None for a in alts):
                best = _pick(best, frozenset().union(*alts))  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:
            best = _pick(best, _seq_anchors(av[2], prev_boundary))
        prev_boundary = False
    flush()
    return best


def anchors_of(pattern: str, word_start: bool = False) -> Anchors:
    """Required literals of ``pattern`` (one of them occurs in every match), or None.

    ``word_start``: the pattern is known to match only at the start of a word.
    """
    try:
        return _seq_anchors(_p.parse(pattern), word_start)
    except Exception:  # noqa: BLE001 - an optimisation only: no anchors means "always search"
        return None


def split_alternatives(pattern: str) -> list[str]:
    """``a|b(c|d)|[|]`` → ``["a", "b(c|d)", "[|]"]``: the top-level alternatives of a regex."""
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern.startswith("^]", i + 1):
                i += 3
                continue
            if pattern.startswith("]", i + 1):
                i += 2
                continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


class RuleBook(Generic[T]):
    """Regexes with payloads; finds the payloads whose regex matches a text, in entry order."""

    def __init__(
        self, entries: Iterable[tuple[str, T]], flags: int = 0, *, word_start: bool = False
    ) -> None:
        """``word_start``: every top-level alternative only matches where a word starts
        (:data:`WORD_START` is put in front of it), which lets its first word be indexed."""
        self.payloads: list[T] = []
        self._flags = flags
        self._whole: list[str] = []
        self._regexes: list[re.Pattern[str]] | None = None
        part_entry: list[int] = []
        part_literals: list[tuple[str, ...] | None] = []
        part_pattern: list[str] = []
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for entry, (pattern, payload) in enumerate(entries):
            pieces = split_alternatives(pattern)
            if word_start:
                pieces = [WORD_START + f"(?:{piece})" for piece in pieces]
            whole = "|".join(pieces)
            self.payloads.append(payload)
            self._whole.append(whole)
            for piece in pieces:
                pid = len(part_pattern)
                anchors = None if flags & re.IGNORECASE else anchors_of(piece, word_start)
                part_entry.append(entry)
                part_pattern.append(piece)
                part_literals.append(None if anchors is None else tuple(a[0] for a in anchors))
                keys = None if anchors is None else {anchor_key(a) for a in anchors}
                if keys is None or None in keys:
                    always.append(pid)
                else:
                    for key in keys:
                        index.setdefault(key, []).append(pid)  # type: ignore[arg-type]
        self._entry = part_entry
        self._literals = part_literals
        # Compiled on first use: most alternatives are never candidates for a given corpus,
        # and compiling all of them up front cost a quarter of the console's start.
        self._pattern = part_pattern
        self._regex: list[re.Pattern[str] | None] = [None] * len(part_pattern)
        self._index = index
        self._keyset = frozenset(index)
        self._always = frozenset(always)
        self._groups: list[Any] | None = None
        self._group_of: Callable[[T], Any] | None = None

    @property
    def unindexed(self) -> list[str]:
        """The alternatives checked on every text (no key): for tuning the rule tables."""
        return [self._pattern[pid] for pid in sorted(self._always)]

    @property
    def regexes(self) -> list[re.Pattern[str]]:
        """Each entry's whole regex, compiled (for tests and the reference search)."""
        if self._regexes is None:
            self._regexes = [re.compile(w, self._flags) for w in self._whole]
        return self._regexes

    def _search(self, pid: int, text: str) -> bool:
        """Does alternative ``pid`` match ``text``? Compiles it the first time."""
        rx = self._regex[pid]
        if rx is None:
            try:
                rx = re.compile(self._pattern[pid], self._flags)
            except re.error:  # pragma: no cover - the splitter misread the pattern
                rx = re.compile(self._whole[self._entry[pid]], self._flags)
            self._regex[pid] = rx
        return rx.search(text) is not None

    def matches(self, text: str, keys: set[str] | None = None) -> Iterator[T]:
        """Payloads of the entries whose regex matches ``text``, in entry order, each once."""
        if keys is None:
            keys = text_keys(text)
        index = self._index
        candidates = set(self._always)
        for key in self._keyset.intersection(keys):
            candidates.update(index[key])
        if not candidates:
            return
        entries = self._entry
        all_literals = self._literals
        done = -1
        for pid in sorted(candidates):
            entry = entries[pid]
            if entry == done:
                continue
            literals = all_literals[pid]
            if literals is not None:
                if len(literals) == 1:
                    if literals[0] not in text:
                        continue
                elif not any(lit in text for lit in literals):
                    continue
            if self._search(pid, text):
                done = entry
                yield self.payloads[entry]

    def first_per_group(
        self,
        text: str,
        keys: set[str],
        group_of: Callable[[T], Any],
        accept: Callable[[T], bool] | None = None,
    ) -> dict[Any, T]:
        """For entries belonging to several groups (several tables in one book): the first
        matching payload of each group, found in one pass over the candidates."""
        index = self._index
        candidates = set(self._always)
        for key in self._keyset.intersection(keys):
            candidates.update(index[key])
        found: dict[Any, T] = {}
        entries = self._entry
        all_literals = self._literals
        payloads = self.payloads
        if self._groups is None or self._group_of is not group_of:
            self._groups = [group_of(payloads[e]) for e in entries]
            self._group_of = group_of
        groups = self._groups
        done = -1
        for pid in sorted(candidates):
            entry = entries[pid]
            if entry == done:
                continue
            group = groups[pid]
            if group in found:
                continue
            payload = payloads[entry]
            literals = all_literals[pid]
            if literals is not None:
                if len(literals) == 1:
                    if literals[0] not in text:
                        continue
                elif not any(lit in text for lit in literals):
                    continue
            if self._search(pid, text):
                done = entry
                if accept is None or accept(payload):
                    found[group] = payload
        return found

    def first(
        self, text: str, keys: set[str] | None = None, accept: Callable[[T], bool] | None = None
    ) -> T | None:
        """The first payload whose regex matches (and that ``accept`` allows), or None."""
        for payload in self.matches(text, keys):
            if accept is None or accept(payload):
                return payload
        return None

    def search_all(self, text: str) -> Iterator[T]:
        """Reference implementation without the prefilter (for tests)."""
        for regex, payload in zip(self.regexes, self.payloads, strict=True):
            if regex.search(text) is not None:
                yield payload
