"""ListManager's own view of a reply: the ``lyrDAODefinitions`` rows applied as ListManager does.

Each row maps a reply pattern to a ``ClassificationCode`` (a CompletionStatusID whose label lives
in ``lyrLookupCompletionStatus``). Only rows of Area 1 (SMTP send) apply to SMTP replies. The
``PatternType`` is 0 for a substring, 1 for a "rooted string" (the reply starts with it) and 2 for
a regular expression; a nonzero ``SMTPResponseCode`` must equal the reply's code. The first row
that matches, in the order given, decides.

Rows come from a database we do not control, so nothing here raises on them: a regex that does
not compile (or an unknown pattern type) is skipped and reported in :attr:`DaoMatcher.problems`.
Patterns are matched case-insensitively against the first :data:`INPUT_CAP` characters of the
reply. Python's ``re`` has no time limit, so a regex with a repetition inside an unbounded
repetition (``(a+)+``), which can take exponential time, is skipped and reported rather than run.
"""

from __future__ import annotations

import re
import warnings

try:  # Python 3.11+
    from re import _constants as _sre_c
    from re import _parser as _sre_p
except ImportError:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_p  # type: ignore[no-redef]
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AREA_INCOMING = 0
AREA_SMTP_SEND = 1
PATTERN_SUBSTRING = 0
PATTERN_ROOTED = 1
PATTERN_REGEX = 2

INPUT_CAP = 4000
"""Only this many leading characters of a reply are matched."""

_CACHE_SIZE = 4096
_SMTP_CODE = re.compile(r"\s*([2-5]\d\d)(?![\d.])")
# POSIX classes as SQL Server tools and Tcl-style engines write them; Python would read
# "[[:digit:]]" as a set of the characters "[:digt" instead.
_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
}
_POSIX = re.compile(r"\[:([a-z]+):\]")


@dataclass(frozen=True, slots=True)
class DaoDefinition:
    """One ``lyrDAODefinitions`` row."""

    area: int
    pattern_type: int
    smtp_response_code: int | None
    classification_code: int
    pattern: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DaoDefinition:
        """Build from a database row keyed by column name (any case): Area, PatternType,
        SMTPResponseCode, ClassificationCode, Pattern. Odd values are coerced, not rejected."""
        lower = {str(k).lower(): v for k, v in row.items()}
        return cls(
            area=_int(lower.get("area"), -1),
            pattern_type=_int(lower.get("patterntype"), -1),
            smtp_response_code=_int(lower.get("smtpresponsecode"), 0) or None,
            classification_code=_int(lower.get("classificationcode"), 0),
            pattern=_text(lower.get("pattern")),
        )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


_REPEATS = {_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT}
if hasattr(_sre_c, "POSSESSIVE_REPEAT"):
    _REPEATS.add(_sre_c.POSSESSIVE_REPEAT)


def _nested_repeat(items: Any, inside_unbounded: bool = False) -> bool:
    """True when an unbounded repetition contains another repetition of more than one."""
    for op, av in items:
        if op in _REPEATS:
            low, high, sub = av
            if inside_unbounded and (high is _sre_c.MAXREPEAT or high > 1):
                return True
            if _nested_repeat(sub, inside_unbounded or high is _sre_c.MAXREPEAT):
                return True
        elif op is _sre_c.SUBPATTERN:
            if _nested_repeat(av[3], inside_unbounded):
                return True
        elif op is _sre_c.BRANCH:
            if any(_nested_repeat(b, inside_unbounded) for b in av[1]):
                return True
        elif op in (_sre_c.ASSERT, _sre_c.ASSERT_NOT):
            if _nested_repeat(av[1], inside_unbounded):
                return True
        elif op is getattr(_sre_c, "ATOMIC_GROUP", None) and _nested_repeat(av, inside_unbounded):
            return True
    return False


def _translate_posix(pattern: str) -> tuple[str, list[str]]:
    """Replace ``[:digit:]``-style classes by their Python equivalent; list unknown ones."""
    unknown: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _POSIX_CLASSES:
            return _POSIX_CLASSES[name]
        unknown.append(name)
        return m.group(0)

    return _POSIX.sub(repl, pattern), unknown


@dataclass(frozen=True, slots=True)
class _Compiled:
    kind: int
    code: int | None
    status: int
    needle: str  # casefolded literal for substring / rooted patterns
    regex: re.Pattern[str] | None


class DaoMatcher:
    """The Area 1 rows of ``lyrDAODefinitions``, compiled once, applied to replies."""

    def __init__(
        self, definitions: Iterable[DaoDefinition], labels: Mapping[int, str] | None = None
    ) -> None:
        self.labels: dict[int, str] = dict(labels or {})
        problems: list[str] = []
        compiled: list[_Compiled] = []
        for index, d in enumerate(definitions):
            if d.area != AREA_SMTP_SEND:
                continue
            code = d.smtp_response_code or None
            pattern = d.pattern or ""
            if d.pattern_type in (PATTERN_SUBSTRING, PATTERN_ROOTED):
                compiled.append(
                    _Compiled(d.pattern_type, code, d.classification_code, pattern.casefold(), None)
                )
            elif d.pattern_type == PATTERN_REGEX:
                regex = self._compile(index, pattern, problems)
                if regex is not None:
                    compiled.append(
                        _Compiled(PATTERN_REGEX, code, d.classification_code, "", regex)
                    )
            else:
                problems.append(
                    f"row {index + 1}: unknown PatternType {d.pattern_type} for {pattern!r}: skipped"
                )
        self._rules = tuple(compiled)
        self.problems: tuple[str, ...] = tuple(problems)
        self._cache: dict[tuple[str, int | None], tuple[int, str] | None] = {}

    @staticmethod
    def _compile(index: int, pattern: str, problems: list[str]) -> re.Pattern[str] | None:
        translated, unknown = _translate_posix(pattern)
        if unknown:
            problems.append(
                f"row {index + 1}: unknown character class [:{unknown[0]}:] in {pattern!r}"
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                regex = re.compile(translated, re.IGNORECASE)
        except (re.error, ValueError, TypeError, OverflowError, RecursionError) as err:
            problems.append(f"row {index + 1}: invalid regular expression {pattern!r}: {err}")
            return None
        for warning in caught:
            problems.append(f"row {index + 1}: regular expression {pattern!r}: {warning.message}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                risky = _nested_repeat(_sre_p.parse(translated, re.IGNORECASE))
        except Exception:  # noqa: BLE001 - compiled fine; the check is only a safeguard
            risky = False
        if risky:
            problems.append(
                f"row {index + 1}: skipped {pattern!r}: a repetition inside an unbounded "
                "repetition can take exponential time"
            )
            return None
        return regex

    def __len__(self) -> int:
        return len(self._rules)

    def label(self, status: int) -> str:
        """The label of a CompletionStatusID (the status number when the table lacks it)."""
        return self.labels.get(status) or str(status)

    def match(self, text: str, code: int | None = None) -> tuple[int, str] | None:
        """``(ClassificationCode, label)`` of the first row matching the reply, else None.

        ``code`` is the reply's SMTP code when known; otherwise it is read from the text.
        """
        if not isinstance(text, str):
            text = _text(text)
        head = text[:INPUT_CAP]
        key = (head, code)
        cache = self._cache
        if key in cache:
            return cache[key]
        result = self._match(head, code)
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = result
        return result

    def _match(self, head: str, code: int | None) -> tuple[int, str] | None:
        if code is None:
            m = _SMTP_CODE.match(head[:16])
            code = int(m.group(1)) if m else None
        folded = head.casefold()
        rooted = folded.lstrip()
        for rule in self._rules:
            if rule.code is not None and rule.code != code:
                continue
            if rule.kind == PATTERN_SUBSTRING:
                hit = rule.needle in folded
            elif rule.kind == PATTERN_ROOTED:
                hit = rooted.startswith(rule.needle)
            else:
                hit = rule.regex is not None and rule.regex.search(head) is not None
            if hit:
                return rule.status, self.label(rule.status)
        return None


def listmanager_status(
    text: str,
    definitions: Iterable[DaoDefinition],
    labels: Mapping[int, str] | None = None,
    code: int | None = None,
) -> tuple[int, str] | None:
    """One-shot form of :meth:`DaoMatcher.match` (build a :class:`DaoMatcher` to reuse it)."""
    return DaoMatcher(definitions, labels).match(text, code)
