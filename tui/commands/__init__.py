"""Subcommands of the ``lmtriage`` CLI, one module each.

Each module defines ``register(subparsers)`` which adds its parser and sets ``run`` (a
function ``(args) -> int``) as the parser default. :data:`COMMAND_MODULES` is the order they
appear in ``lmtriage --help``.
"""

COMMAND_MODULES: list[str] = [
    "tui.commands.blocks",
    "tui.commands.responses",
    "tui.commands.release",
    "tui.commands.audit",
    "tui.commands.doctor",
    "tui.commands.demo",
    "tui.commands.check",
    "tui.commands.classify",
    "tui.commands.dcl",
    "tui.commands.explain",
    "tui.commands.allowlist",
    "tui.commands.status",
    "tui.commands.watch",
    "tui.commands.autorelease",
    "tui.commands.report",
]
