"""Diagnosis of SMTP replies: category, receiver, blocklist and signature of each reply.

Pure Python with no terminal or database dependency, so the CLI, the console and the tests all
share one judgement. The classifier is :mod:`tui.diagnose.classify`, its rules are data in
:mod:`tui.diagnose.patterns`, and :mod:`tui.diagnose.listmanager_view` applies ListManager's own
``lyrDAODefinitions`` rows to a reply.
"""
