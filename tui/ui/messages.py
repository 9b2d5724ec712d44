"""Messages workers post back to the UI thread. Workers never touch widgets themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.message import Message

from tui.db.errors import describe_exception
from tui.errors import LmError


class WorkFailed(Message):
    """A worker failed; ``text`` is one line for people (secrets masked)."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.error = error
        detail = str(error) if isinstance(error, LmError) else describe_exception(error)
        self.text = f"{what} failed: {detail}"


@dataclass
class RefreshResult:
    """Everything one refresh read."""

    keys: dict[str, list[int]] = field(default_factory=dict)  # "domain"/"ip" -> BlockIDs
    filters: dict[str, Any] = field(default_factory=dict)  # the filters the keys were read with
    dashboard: Any = None
    streams: list[Any] = field(default_factory=list)
    finished: datetime | None = None


class RefreshDone(Message):
    """A refresh finished (or failed: ``error`` set)."""

    def __init__(self, result: RefreshResult | None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


class ReleaseProgress(Message):
    """Rows done of a running release."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total
