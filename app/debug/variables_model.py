"""Variables of a stack frame as a tree that loads children only when expanded (a dict of
10,000 entries costs nothing until the user opens it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt

from engine_core.debug import Scope, Variable

from ..models.headers import ColumnHeaders
from .controller import DebugController


class _Node:
    __slots__ = ("name", "value", "type", "ref", "parent", "children", "loading")

    def __init__(self, name: str, value: str, type_: str, ref: int, parent: "_Node | None"):
        self.name, self.value, self.type, self.ref, self.parent = name, value, type_, ref, parent
        self.children: list[_Node] | None = None  # None: not loaded yet
        self.loading = False


class VariablesModel(ColumnHeaders, QAbstractItemModel):
    COLUMNS = ("Name", "Value", "Type")

    def __init__(self, controller: DebugController, parent=None):
        super().__init__(parent)
        self._controller = controller
        self._root = _Node("", "", "", 0, None)
        self._root.children = []
        self._generation = 0  # answers for an older frame are dropped

    def show_scopes(self, scopes: list[Scope]) -> None:
        self._generation += 1
        self.beginResetModel()
        self._root.children = [_Node(s.name, "", "", s.ref, self._root) for s in scopes]
        self.endResetModel()

    def clear(self) -> None:
        self.show_scopes([])

    def find(self, *path: str) -> QModelIndex:
        """Index of the node at ``path`` (names from the top), if loaded."""
        parent = QModelIndex()
        node = self._root
        for name in path:
            match = next((i for i, child in enumerate(node.children or []) if child.name == name), None)
            if match is None:
                return QModelIndex()
            node = node.children[match]
            parent = self.index(match, 0, parent)
        return parent

    # -- lazy loading ---------------------------------------------------------------------
    def hasChildren(self, parent=QModelIndex()) -> bool:
        node = self._node(parent)
        return node is self._root or node.ref > 0

    def canFetchMore(self, parent) -> bool:
        node = self._node(parent)
        return node.ref > 0 and node.children is None and not node.loading

    def fetchMore(self, parent) -> None:
        node = self._node(parent)
        node.loading = True
        generation = self._generation
        self._controller.variables(node.ref, lambda variables: self._loaded(generation, node, variables))

    def _loaded(self, generation: int, node: _Node, variables: list[Variable]) -> None:
        node.loading = False
        if generation != self._generation:
            return
        children = [_Node(v.name, v.value, v.type, v.ref, node) for v in variables]
        if not children:
            node.children = []
            return
        self.beginInsertRows(self._index_of(node), 0, len(children) - 1)
        node.children = children
        self.endInsertRows()

    # -- QAbstractItemModel ---------------------------------------------------------------
    def _node(self, index) -> _Node:
        return index.internalPointer() if index.isValid() else self._root

    def _index_of(self, node: _Node) -> QModelIndex:
        if node.parent is None:
            return QModelIndex()
        return self.createIndex(node.parent.children.index(node), 0, node)

    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        children = self._node(parent).children or []
        return self.createIndex(row, column, children[row]) if 0 <= row < len(children) else QModelIndex()

    def parent(self, index=QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        return self._index_of(index.internalPointer().parent)

    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        return len(self._node(parent).children or [])


    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        node: _Node = index.internalPointer()
        return (node.name, node.value, node.type)[index.column()]
