"""Operations around the console: server profiles, monitoring (status, metrics, watch),
release by policy and reports. No Textual here: the CLI commands in :mod:`tui.commands` and
the console both sit on these modules."""
