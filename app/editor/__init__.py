"""The Python code editor widget (Scintilla + Lexilla) with its find bar and themes."""

from .code_editor import CodeEditor
from .find_bar import FindBar
from .themes import THEMES

__all__ = ["CodeEditor", "FindBar", "THEMES"]
