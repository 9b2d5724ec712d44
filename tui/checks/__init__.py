"""The check engine: DNS, blocklist, SPF, DMARC and DKIM checks for blocked mail streams.

No Textual or Rich here: the console and the CLI both drive this package. Start with
:func:`tui.checks.runner.iter_checks` (results as they arrive) or
:func:`tui.checks.runner.run_checks` (all at once).
"""

from tui.checks.block_checks import BlockTarget, iter_block_checks, run_block_checks
from tui.checks.results import CheckResult, summarize
from tui.checks.runner import iter_checks, run_checks
from tui.checks.sender_checks import (
    DkimSelector,
    SenderTarget,
    iter_sender_checks,
    run_sender_checks,
)
from tui.checks.settings import CheckSettings, parse_hostport

__all__ = [
    "BlockTarget",
    "CheckResult",
    "CheckSettings",
    "DkimSelector",
    "SenderTarget",
    "iter_block_checks",
    "iter_checks",
    "iter_sender_checks",
    "parse_hostport",
    "run_block_checks",
    "run_checks",
    "run_sender_checks",
    "summarize",
]
