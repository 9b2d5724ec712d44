"""The data layer: schema model, discovery, queries, release and audit. No Textual here."""
