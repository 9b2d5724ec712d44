"""The layer that joins the others for one block, for the console and the CLI alike.

``tui.db`` reads and writes rows, ``tui.diagnose`` reasons over plain facts, ``tui.checks``
asks DNS; the modules here gather a block's facts from the database, run the diagnosis and the
checks over them, and hand both front ends the result: the advice of a block
(:mod:`block_advice`), what to check for a block or a stream (:mod:`check_sources`), whether
chosen blocks should be released now (:mod:`release_advice`) and pane orders the database
cannot sort by (:mod:`computed_sort`). No Textual here (a test enforces it).
"""
