"""Errors meant for people: one line naming the problem and what to do about it."""

from __future__ import annotations


class LmError(Exception):
    """A failure the user can act on. ``str(err)`` is the whole message, one line, no secrets."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        # Messages quote what people and databases typed: made one printable line here, so
        # no control, bidi or invisible character reaches a terminal through an error.
        from tui.textsafe import printable

        super().__init__(printable(message, max_chars=2000))
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(LmError):
    """The configuration file, an environment variable or a flag is wrong."""


class DatabaseError(LmError):
    """The database could not be reached or answered with an error."""


class NotFoundError(LmError):
    """A stream, domain or block named by the user does not exist."""


class ReadOnlyError(LmError):
    """A write was asked for while writes are off."""


class FeatureUnavailable(LmError):
    """A feature needs a table or column the live database does not have."""
