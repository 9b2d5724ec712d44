"""``lmtriage watch``: poll the block tables and report each block that appears or disappears.

What a watch has seen is kept in a state file (``$XDG_STATE_HOME/lmtriage/watch/…json``), so a
watch that is restarted, or run from cron with ``--once``, reports what changed while it was
not running. The first run of a state file only records what is blocked (a baseline) unless
``--report-existing`` is given.

A block is its table, BlockID, stream, domain, stream IP, MX *and* BlockedSince: a pair
released and blocked again is a block that disappeared and one that appeared.

Delivery is at least once: an event whose ``--exec`` command or ``--webhook`` POST failed is not
recorded as seen, so the next poll reports it again. Commands are run without a shell (the
JSON arrives on standard input), so hostile domain names never reach a shell.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from tui import __version__
from tui.config import xdg_dir
from tui.core import Core
from tui.db.errors import describe_exception
from tui.db.records import Block
from tui.errors import LmError
from tui.ops.inventory import MAX_TRACKED, current_blocks
from tui.textsafe import printable

STATE_VERSION = 1
CHUNK = 100  # events per webhook POST / exec run
EXEC_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 10.0
APPEARED, DISAPPEARED = "appeared", "disappeared"


# --------------------------------------------------------------------------- records


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None


def block_record(block: Block) -> dict[str, Any]:
    """A block as watch remembers and reports it (plain JSON values)."""
    return {
        "kind": block.kind,
        "block_id": block.block_id,
        "stream_id": block.stream_id,
        "stream": block.stream_name,
        "domain": block.domain,
        "ip": block.ip,
        "blocking_mx": block.mx,
        "description": block.description,
        "blocked_since": _iso(block.since),
        "next_retry": _iso(block.next_retry),
        "permanent": block.next_retry is None,
    }


def identity_key(record: dict[str, Any]) -> str:
    """Table, key and the identity a release re-checks: one string."""
    parts = (
        record["kind"],
        str(record["block_id"]),
        str(record["stream_id"]),
        str(record["domain"] or "").strip().lower(),
        record["ip"] or "",
        record["blocking_mx"] or "",
        record["blocked_since"] or "",
    )
    return "|".join(parts)


def event_line(event: dict[str, Any]) -> str:
    """``appeared  ip block 204: yahoo.com 198.51.100.20 → 198.18.1.1, stream marketing …``."""
    what = (
        f"{event['domain']} {event['ip']} → {event['blocking_mx']}"
        if event["kind"] == "ip"
        else f"{event['domain']}"
    )
    since = f", blocked since {event['blocked_since']}" if event.get("blocked_since") else ""
    text = (
        f"{event['observed_at']}  {event['event']:<11} {event['kind']} block "
        f"{event['block_id']}: {what}, stream {event['stream']}{since}"
    )
    return printable(text, max_chars=600)


# --------------------------------------------------------------------------- state


def state_path(state_dir: Path | None, core: Core, stream: str | None) -> Path:
    """One state file per database (and stream filter)."""
    directory = state_dir or (xdg_dir("STATE") / "watch")
    digest = hashlib.sha256(f"{core.display_url}\0{stream or ''}".encode()).hexdigest()[:12]
    name = core.config.profile or "db"
    return directory / f"{name}-{digest}.json"


@dataclass(slots=True)
class WatchState:
    """The blocks a watch has reported (or taken as its baseline), by identity key."""

    path: Path
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    fresh: bool = True  # no state file yet: the first poll is a baseline
    warning: str | None = None

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """Read the state file; a missing one is fresh, an unreadable one is set aside."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as err:
            raise LmError(f"cannot read the watch state {path}: {err.strerror or err}") from None
        try:
            data = json.loads(raw)
            if data.get("version") != STATE_VERSION or not isinstance(data.get("seen"), dict):
                raise ValueError("not a watch state")
            seen = {str(k): dict(v) for k, v in data["seen"].items()}
        except (ValueError, TypeError, AttributeError):
            aside = path.with_name(path.name + ".unreadable")
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            return cls(
                path,
                warning=f"the watch state {path} was unreadable (kept as {aside.name}); "
                "this poll takes a new baseline",
            )
        return cls(path, seen=seen, fresh=False)

    def save(self, database: str, now: datetime) -> None:
        """Write the state atomically, readable by the user only."""
        data = {
            "version": STATE_VERSION,
            "database": database,
            "saved_at": _iso(now),
            "seen": self.seen,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as err:
            raise LmError(
                f"cannot write the watch state {self.path}: {err.strerror or err}"
            ) from None
        self.fresh = False


# --------------------------------------------------------------------------- delivery


def masked_url(url: str) -> str:
    """``https://hooks.example.com/…``: webhook paths often hold a token."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def check_webhook_url(url: str) -> str:
    """Refuse anything but an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port
    except ValueError:
        raise LmError("--webhook: not a URL; give http(s)://host/path", exit_code=2) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LmError("--webhook: give an http:// or https:// URL with a host", exit_code=2)
    return url


def check_exec(command: str) -> list[str]:
    """The command as an argument list (run without a shell)."""
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise LmError(f"--exec: cannot split the command: {err}", exit_code=2) from None
    if not argv:
        raise LmError("--exec: the command is empty", exit_code=2)
    return argv


class Sink:
    """Somewhere events go; ``send`` returns None or the error in one line."""

    name = "sink"

    def send(self, payload: dict[str, Any]) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError


class PrintSink(Sink):
    """One line per event (text) or one JSON object per poll (json) on a stream."""

    name = "stdout"

    def __init__(self, fmt: str, out: TextIO | None = None) -> None:
        self.fmt = fmt
        self.out = out

    def send(self, payload: dict[str, Any]) -> str | None:
        out = self.out or sys.stdout
        if self.fmt == "json":
            out.write(json.dumps(payload, ensure_ascii=True) + "\n")
        else:
            for event in payload["events"]:
                out.write(event_line(event) + "\n")
        out.flush()
        return None


class ExecSink(Sink):
    """Run a command with the payload as JSON on its standard input."""

    name = "exec"

    def __init__(self, argv: Sequence[str], timeout: float = EXEC_TIMEOUT) -> None:
        self.argv = list(argv)
        self.timeout = timeout

    def send(self, payload: dict[str, Any]) -> str | None:
        env = dict(os.environ)
        env.update(
            {
                "LMTRIAGE_EVENTS": str(len(payload["events"])),
                "LMTRIAGE_APPEARED": str(payload["appeared"]),
                "LMTRIAGE_DISAPPEARED": str(payload["disappeared"]),
                "LMTRIAGE_PROFILE": payload["profile"] or "",
                "LMTRIAGE_SUMMARY": payload["summary"],
            }
        )
        try:
            done = subprocess.run(
                self.argv,
                input=json.dumps(payload, ensure_ascii=True).encode("ascii"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            return f"--exec: {printable(self.argv[0], max_chars=200)} was not found"
        except subprocess.TimeoutExpired:
            return f"--exec: the command ran longer than {self.timeout:.0f}s and was stopped"
        except OSError as err:
            return f"--exec: cannot run the command: {err.strerror or err}"
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return f"--exec: the command exited {done.returncode}" + (
                f": {printable(tail[0], max_chars=200)}" if tail[0] else ""
            )
        return None


class WebhookSink(Sink):
    """POST the payload as JSON; any 2xx answer is success."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.url = check_webhook_url(url)
        self.timeout = timeout

    def send(self, payload: dict[str, Any]) -> str | None:
        body = json.dumps(payload, ensure_ascii=True).encode("ascii")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"lmtriage/{__version__}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - scheme checked
                status = answer.status
        except urllib.error.HTTPError as err:
            return f"--webhook {masked_url(self.url)} answered HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            return f"--webhook {masked_url(self.url)}: {printable(str(reason), max_chars=200)}"
        if not 200 <= status < 300:
            return f"--webhook {masked_url(self.url)} answered HTTP {status}"
        return None


# --------------------------------------------------------------------------- polling


@dataclass(slots=True)
class PollResult:
    """What one poll found and did."""

    blocks: int = 0
    baseline: bool = False
    appeared: int = 0
    disappeared: int = 0
    undelivered: int = 0
    errors: list[str] = field(default_factory=list)
    truncated: bool = False


def _payload(
    core: Core, events: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    up = sum(1 for e in events if e["event"] == APPEARED)
    down = len(events) - up
    who = core.config.profile or core.display_url
    summary = printable(
        f"lmtriage {who}: {up} block(s) appeared, {down} disappeared"
        + (f" (first: {events[0]['domain']})" if events else ""),
        max_chars=300,
    )
    return {
        "source": "lmtriage",
        "profile": core.config.profile,
        "database": core.display_url,
        "observed_at": _iso(now),
        "appeared": up,
        "disappeared": down,
        "summary": summary,
        "events": events,
    }


class Watch:
    """A watch over one database: poll, compare with the state, deliver, remember."""

    def __init__(
        self,
        core: Core,
        state: WatchState,
        sinks: Sequence[Sink],
        *,
        stream_id: int | None = None,
        report_existing: bool = False,
        limit: int = MAX_TRACKED,
    ) -> None:
        self.core = core
        self.state = state
        self.sinks = list(sinks)
        self.stream_id = stream_id
        self.report_existing = report_existing
        self.limit = limit

    def poll(self) -> PollResult:
        """One poll (raises :class:`LmError` when the database cannot be read)."""
        core = self.core
        now = core.now().replace(microsecond=0)
        with core.connect() as conn:
            blocks, truncated = current_blocks(core, conn, self.stream_id, limit=self.limit)
        current = {}
        for block in blocks:
            record = block_record(block)
            current[identity_key(record)] = record
        result = PollResult(blocks=len(current), truncated=truncated)
        if self.state.fresh and not self.report_existing:
            self.state.seen = current
            self.state.save(core.display_url, now)
            result.baseline = True
            return result
        seen = self.state.seen
        events = [
            {"event": APPEARED, "observed_at": _iso(now), **r}
            for k, r in current.items()
            if k not in seen
        ]
        if not truncated:  # a cut-short read cannot tell a block gone from one not read
            events += [
                {"event": DISAPPEARED, "observed_at": _iso(now), **r}
                for k, r in seen.items()
                if k not in current
            ]
        for start in range(0, len(events), CHUNK):
            chunk = events[start : start + CHUNK]
            payload = _payload(core, chunk, now)
            failed = [err for sink in self.sinks if (err := sink.send(payload)) is not None]
            if failed:
                result.errors += failed
                result.undelivered += len(chunk)
                continue
            for event in chunk:
                record = {k: v for k, v in event.items() if k not in ("event", "observed_at")}
                key = identity_key(record)
                if event["event"] == APPEARED:
                    seen[key] = record
                    result.appeared += 1
                else:
                    seen.pop(key, None)
                    result.disappeared += 1
        self.state.save(core.display_url, now)
        return result


def run_watch(
    watch: Watch,
    *,
    count: int | None,
    interval: float,
    stop: threading.Event,
    report: Callable[[PollResult | None, str | None], None],
) -> int:
    """Poll ``count`` times (or until ``stop`` is set), ``interval`` seconds apart.

    Returns 0 when every poll and delivery worked, 1 otherwise. A poll that fails (the
    database is down) is reported and the watch goes on.
    """
    polls, trouble = 0, False
    while not stop.is_set():
        try:
            result = watch.poll()
        except LmError as err:
            report(None, str(err))
            trouble = True
        except Exception as err:  # noqa: BLE001 - a daemon keeps going; one line per failure
            report(None, describe_exception(err))
            trouble = True
        else:
            report(result, None)
            trouble = trouble or bool(result.errors)
        polls += 1
        if count is not None and polls >= count:
            break
        stop.wait(interval)
    return 1 if trouble else 0
