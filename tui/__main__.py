"""``python -m tui`` runs the same entry point as the ``lmtriage`` script."""

from tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
