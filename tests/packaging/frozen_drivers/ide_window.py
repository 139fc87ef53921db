"""Start the IDE the way ``flowdesk ide WORKSPACE`` does (app.application.run_ide) and quit as
soon as its event loop runs with the main window shown; print one JSON line about the window.
Run by the frozen executable (``flowdesk ide_window.py WORKSPACE``) and by the venv's Python
alike, so the two start-ups are measured the same way (tests/bench/bench_packaging.py)."""

import json
import sys
import time


def main(workspace: str) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    seen = {}

    def first_turn_of_the_loop() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
        seen.update(windows=len(windows), title=windows[0].windowTitle() if windows else None)
        print("FLOWDESK-WINDOW-SHOWN", flush=True)
        # Quit once the workspace's engine (and so the forkserver) is up: quitting while it
        # still starts would test the shutdown race, not the start.
        bridge = getattr(windows[0], "bridge", None) if windows else None
        wait_for_engine(bridge, deadline=time.monotonic() + 60)

    def wait_for_engine(bridge, deadline: float) -> None:
        if bridge is not None and not bridge.is_open and time.monotonic() < deadline:
            QTimer.singleShot(20, lambda: wait_for_engine(bridge, deadline))
            return
        seen["engine_open"] = bool(bridge is not None and bridge.is_open)
        lint_in_the_helper_process(deadline)

    def lint_in_the_helper_process(deadline: float) -> None:
        """What the editor does as you type: pyflakes in the analysis helper process (a
        child of the app, through multiprocessing)."""
        from app.analysis_service import analysis
        from engine_core.analysis.lint import lint

        def done(problems) -> None:
            seen["lint"] = [problem.message for problem in problems]
            app.quit()

        analysis().submit(lint, "import os\n", "check.py", [], on_done=done)
        QTimer.singleShot(max(0, int((deadline - time.monotonic()) * 1000)), app.quit)  # no answer: give up

    QTimer.singleShot(0, first_turn_of_the_loop)
    from app.application import run_ide

    code = run_ide(workspace)
    print(json.dumps({"code": code, "frozen": bool(getattr(sys, "frozen", False)), **seen}), flush=True)
    return code


if __name__ == "__main__":  # the forkserver imports this file again: only run it as the script
    sys.exit(main(sys.argv[1]))
