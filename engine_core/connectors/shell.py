"""The SHELL connector (being written)."""
