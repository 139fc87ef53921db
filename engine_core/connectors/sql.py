"""The SQL connector (being written)."""
