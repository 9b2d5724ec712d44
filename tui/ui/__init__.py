"""The Textual console. Everything here sits on tui.core and the data/diagnosis/check layers."""
