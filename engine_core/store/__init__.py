"""Persistence of executions, logs, messages and settings (SQLAlchemy 2)."""

from .store import STOPPED_MESSAGE, Store
from .writer import Writer

__all__ = ["STOPPED_MESSAGE", "Store", "Writer"]
