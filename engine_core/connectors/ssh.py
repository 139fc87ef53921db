"""The SSH connector (being written)."""
