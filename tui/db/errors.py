"""Turn driver exceptions into one line a person can act on, with secrets masked."""

from __future__ import annotations

import re

import sqlalchemy as sa

_SECRETS: set[str] = set()
# scheme://user:password@host — the password runs to the last "@" before the path, so an
# unencoded "@" in it is masked whole.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^\s/]*)(?P<tail>@)", re.I
)
# libpq and ODBC connection strings: password=…, PWD=… (quoted or not).
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\{[^}]*\}|[^\s;'\"]+)",
    re.I,
)


def register_secret(secret: str | None) -> None:
    """Remember a password so it is masked in every message this process prints."""
    if secret and len(secret) >= 3:
        _SECRETS.add(secret)


def mask_secrets(text: str) -> str:
    """Hide registered passwords, any ``scheme://user:password@`` and any ``password=…``
    in ``text``. Registered ones first: a pattern could cut an odd password in two."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***{m.group('tail')}", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group('head')}***", text)


def _first_line(text: str) -> str:
    for line in str(text).splitlines():
        line = line.strip()
        if line and not line.startswith("(Background on this error"):
            return line
    return ""


_HINTS = (
    (
        re.compile(r"password authentication failed|login failed|authentication failed", re.I),
        "the database refused the user name or password",
    ),
    (
        re.compile(
            r"connection refused|could not connect|unable to connect|adaptive server is unavailable|"
            r"no route to host|name or service not known|could not translate host|timed out|"
            r"timeout expired|server closed the connection",
            re.I,
        ),
        "the database server cannot be reached",
    ),
    (
        re.compile(r"does not exist|unknown database|cannot open database", re.I),
        "the database does not exist",
    ),
    (
        re.compile(
            r"statement timeout|canceling statement due to statement timeout|query timeout", re.I
        ),
        "the query took longer than the statement timeout",
    ),
    (
        re.compile(
            r"permission denied|not permitted|denied on object|readonly database|read-only", re.I
        ),
        "the database user may not do this",
    ),
    (
        re.compile(r"integer out of range|out of range for type|arithmetic overflow", re.I),
        "a number given is larger than the database's column can hold",
    ),
    (
        re.compile(
            r"terminating connection|connection .* closed|server closed|broken pipe|"
            r"connection reset|ssl syscall",
            re.I,
        ),
        "the connection to the database was lost",
    ),
)


def describe_exception(err: BaseException) -> str:
    """One line naming the problem and, where known, what to do; never a password."""
    if isinstance(err, sa.exc.ArgumentError):
        return mask_secrets(f"the database URL is not valid ({_first_line(str(err))})")
    if isinstance(err, sa.exc.NoSuchModuleError):
        return mask_secrets(
            f"{_first_line(str(err))}: use mssql+pymssql://, postgresql+psycopg:// or sqlite:///"
        )
    if isinstance(err, sa.exc.DBAPIError):
        detail = _first_line(str(err.orig)) if err.orig is not None else _first_line(str(err))
        for pattern, hint in _HINTS:
            if pattern.search(detail):
                return mask_secrets(f"{hint}: {detail}")
        return mask_secrets(f"database error: {detail}")
    if isinstance(err, UnicodeEncodeError):
        return mask_secrets(_unencodable(err))
    if isinstance(err, OSError):
        return mask_secrets(
            f"{err.strerror or err}: {getattr(err, 'filename', '') or ''}".rstrip(": ")
        )
    return mask_secrets(f"{type(err).__name__}: {_first_line(str(err))}")


def _unencodable(err: UnicodeEncodeError) -> str:
    """A value (a filter, a domain) with a character the database's character set cannot hold:
    nothing stored there can contain it, so say so instead of the codec's message."""
    text = err.object if isinstance(err.object, str) else ""
    bad = text[err.start : err.end] if 0 <= err.start < err.end <= len(text) else ""
    shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:3]) or "a character"
    return (
        f"the database's character set ({err.encoding}) cannot hold {shown} in the value given, "
        "so nothing stored there contains it: search without that character"
    )
