"""The GIT connector (being written)."""
