"""Pushed screens: drill-down, dialogs, help."""
