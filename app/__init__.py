"""The Flowdesk desktop IDE (PySide6). A client of ``engine_core``."""
