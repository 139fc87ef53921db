"""Persistence of executions, logs, messages and settings (SQLAlchemy 2)."""

from .store import STOPPED_MESSAGE, PruneReport, Store
from .writer import Writer

__all__ = ["STOPPED_MESSAGE", "PruneReport", "Store", "Writer"]
