# Flowdesk's run-time hook for PySide6, in place of PyInstaller's pyi_rth_pyside6 (a hook dir
# given in the spec takes precedence). PyInstaller's imports PySide6.QtCore at the start of
# every process of the app, to register a qt.conf: the CLI, the forkserver, each worker's
# preload and debugpy's adapter all paid for Qt (frozen `flowdesk --version` 0.23-0.42 s
# against 0.10 s from the venv). PySide6's wheels register their own qt.conf when QtCore is
# imported, so only the plugin path is left to set, and that costs nothing.


def _pyi_rthook():
    import os
    import sys

    os.environ["QT_PLUGIN_PATH"] = os.path.join(sys._MEIPASS, "PySide6", "Qt", "plugins")


_pyi_rthook()
del _pyi_rthook
