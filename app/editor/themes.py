"""Editor colour themes ("light", "dark") and the Scintilla calls that apply one.

Colours are written as "#rrggbb" (or "#rrggbbaa" where Scintilla blends them) and converted
to Scintilla's little-endian 0xAABBGGRR integers here, so the tables stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QFontDatabase
from pyside6_scintilla import Scintilla, ScintillaEdit

_S = Scintilla
STYLE = _S.StylesCommon
ELEMENT = _S.Element

# Lexilla's Python lexer style numbers (SCE_P_* in SciLexer.h); the binding has no constants.
SCE_P_DEFAULT = 0
SCE_P_COMMENTLINE = 1
SCE_P_NUMBER = 2
SCE_P_STRING = 3
SCE_P_CHARACTER = 4
SCE_P_WORD = 5
SCE_P_TRIPLE = 6
SCE_P_TRIPLEDOUBLE = 7
SCE_P_CLASSNAME = 8
SCE_P_DEFNAME = 9
SCE_P_OPERATOR = 10
SCE_P_IDENTIFIER = 11
SCE_P_COMMENTBLOCK = 12
SCE_P_STRINGEOL = 13
SCE_P_WORD2 = 14
SCE_P_DECORATOR = 15
SCE_P_FSTRING = 16
SCE_P_FCHARACTER = 17
SCE_P_FTRIPLE = 18
SCE_P_FTRIPLEDOUBLE = 19
SCE_P_ATTRIBUTE = 20

FONT_SIZE = 10


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    caret: str
    caret_line: str
    selection: str
    margin_background: str
    line_number: str
    fold_margin: str
    fold_marker: str  # the +/- boxes and the tree lines
    indent_guide: str
    brace_match: str
    brace_bad: str
    error: str  # squiggle and margin marker
    warning: str
    calltip_background: str
    current_execution_line: str = "#fff3b0"  # where the debugger stopped
    # SCE_P_* style -> (foreground, bold, italic)
    syntax: dict[int, tuple[str, bool, bool]] = field(default_factory=dict)


LIGHT = Theme(
    name="light", background="#ffffff", foreground="#1f1f1f", caret="#000000",
    caret_line="#f3f3f3", selection="#add6ff", margin_background="#f5f5f5",
    line_number="#8a8a8a", fold_margin="#f5f5f5", fold_marker="#9a9a9a", indent_guide="#d3d3d3",
    brace_match="#0064c8", brace_bad="#e51400", error="#e51400", warning="#bf8803",
    calltip_background="#f3f3f3",
    syntax={
        SCE_P_COMMENTLINE: ("#008000", False, True),
        SCE_P_COMMENTBLOCK: ("#008000", False, True),
        SCE_P_NUMBER: ("#098658", False, False),
        SCE_P_STRING: ("#a31515", False, False),
        SCE_P_CHARACTER: ("#a31515", False, False),
        SCE_P_TRIPLE: ("#a31515", False, False),
        SCE_P_TRIPLEDOUBLE: ("#a31515", False, False),
        SCE_P_FSTRING: ("#a31515", False, False),
        SCE_P_FCHARACTER: ("#a31515", False, False),
        SCE_P_FTRIPLE: ("#a31515", False, False),
        SCE_P_FTRIPLEDOUBLE: ("#a31515", False, False),
        SCE_P_STRINGEOL: ("#e51400", False, False),
        SCE_P_WORD: ("#0000ff", True, False),
        SCE_P_WORD2: ("#af00db", False, False),
        SCE_P_CLASSNAME: ("#267f99", True, False),
        SCE_P_DEFNAME: ("#795e26", True, False),
        SCE_P_DECORATOR: ("#795e26", False, False),
        SCE_P_OPERATOR: ("#1f1f1f", False, False),
        SCE_P_IDENTIFIER: ("#001080", False, False),
        SCE_P_ATTRIBUTE: ("#001080", False, False),
    },
)

DARK = Theme(
    name="dark", background="#1e1e1e", foreground="#d4d4d4", caret="#aeafad",
    caret_line="#2a2d2e", selection="#264f78", margin_background="#1e1e1e",
    line_number="#858585", fold_margin="#1e1e1e", fold_marker="#6e6e6e", indent_guide="#404040",
    brace_match="#4fc1ff", brace_bad="#f14c4c", error="#f14c4c", warning="#cca700",
    calltip_background="#252526", current_execution_line="#4b4b18",
    syntax={
        SCE_P_COMMENTLINE: ("#6a9955", False, True),
        SCE_P_COMMENTBLOCK: ("#6a9955", False, True),
        SCE_P_NUMBER: ("#b5cea8", False, False),
        SCE_P_STRING: ("#ce9178", False, False),
        SCE_P_CHARACTER: ("#ce9178", False, False),
        SCE_P_TRIPLE: ("#ce9178", False, False),
        SCE_P_TRIPLEDOUBLE: ("#ce9178", False, False),
        SCE_P_FSTRING: ("#ce9178", False, False),
        SCE_P_FCHARACTER: ("#ce9178", False, False),
        SCE_P_FTRIPLE: ("#ce9178", False, False),
        SCE_P_FTRIPLEDOUBLE: ("#ce9178", False, False),
        SCE_P_STRINGEOL: ("#f14c4c", False, False),
        SCE_P_WORD: ("#569cd6", True, False),
        SCE_P_WORD2: ("#c586c0", False, False),
        SCE_P_CLASSNAME: ("#4ec9b0", True, False),
        SCE_P_DEFNAME: ("#dcdcaa", True, False),
        SCE_P_DECORATOR: ("#dcdcaa", False, False),
        SCE_P_OPERATOR: ("#d4d4d4", False, False),
        SCE_P_IDENTIFIER: ("#9cdcfe", False, False),
        SCE_P_ATTRIBUTE: ("#9cdcfe", False, False),
    },
)

THEMES: dict[str, Theme] = {LIGHT.name: LIGHT, DARK.name: DARK}


def bgr(colour: str) -> int:
    """"#rrggbb" -> Scintilla's 0xBBGGRR."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return r | g << 8 | b << 16


def abgr(colour: str) -> int:
    """"#rrggbb[aa]" -> Scintilla's 0xAABBGGRR (opaque without an alpha part)."""
    alpha = int(colour[7:9], 16) if len(colour) == 9 else 0xFF
    return bgr(colour) | alpha << 24


def monospace_family() -> str:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()


def apply_theme(editor: ScintillaEdit, theme: Theme) -> None:
    """Restyle every part of the editor; safe to call again to switch themes."""
    _apply_text_styles(editor, theme)
    _apply_chrome(editor, theme)


def _apply_text_styles(editor: ScintillaEdit, theme: Theme) -> None:
    # STYLE_DEFAULT is copied into every style by styleClearAll, so set font and colours first.
    editor.styleSetFont(STYLE.Default, monospace_family())
    editor.styleSetSize(STYLE.Default, FONT_SIZE)
    editor.styleSetFore(STYLE.Default, bgr(theme.foreground))
    editor.styleSetBack(STYLE.Default, bgr(theme.background))
    editor.styleClearAll()
    for style, (fore, bold, italic) in theme.syntax.items():
        editor.styleSetFore(style, bgr(fore))
        editor.styleSetBold(style, bold)
        editor.styleSetItalic(style, italic)
    editor.styleSetFore(STYLE.LineNumber, bgr(theme.line_number))
    editor.styleSetBack(STYLE.LineNumber, bgr(theme.margin_background))
    editor.styleSetFore(STYLE.IndentGuide, bgr(theme.indent_guide))
    editor.styleSetFore(STYLE.BraceLight, bgr(theme.brace_match))
    editor.styleSetBold(STYLE.BraceLight, True)
    editor.styleSetFore(STYLE.BraceBad, bgr(theme.brace_bad))
    editor.styleSetBold(STYLE.BraceBad, True)
    editor.styleSetFore(STYLE.CallTip, bgr(theme.foreground))
    editor.styleSetBack(STYLE.CallTip, bgr(theme.calltip_background))
    editor.callTipSetBack(bgr(theme.calltip_background))
    editor.callTipSetFore(bgr(theme.foreground))


def _apply_chrome(editor: ScintillaEdit, theme: Theme) -> None:
    editor.setElementColour(ELEMENT.Caret, abgr(theme.caret))
    editor.setElementColour(ELEMENT.CaretLineBack, abgr(theme.caret_line))
    editor.setElementColour(ELEMENT.SelectionBack, abgr(theme.selection))
    editor.setElementColour(ELEMENT.SelectionInactiveBack, abgr(theme.selection))
    # Margin 1 and up are symbol margins drawn in STYLE_DEFAULT's background unless told.
    for margin in range(editor.margins()):
        editor.setMarginBackN(margin, bgr(theme.margin_background))
    editor.setFoldMarginColour(True, bgr(theme.fold_margin))
    editor.setFoldMarginHiColour(True, bgr(theme.fold_margin))
    for marker in range(_S.MarkerOutline.FolderEnd, _S.MarkerOutline.FolderOpen + 1):
        editor.markerSetFore(marker, bgr(theme.fold_margin))
        editor.markerSetBack(marker, bgr(theme.fold_marker))
    editor.markerSetBackSelected(_S.MarkerOutline.Folder, bgr(theme.fold_marker))
