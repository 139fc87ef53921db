"""The SMTP connector (being written)."""
