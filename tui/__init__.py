"""lmtriage: a terminal console for ListManager MailStream blocks."""

__version__ = "0.1.0"
