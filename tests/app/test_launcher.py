"""``flowdesk`` as a new user starts it: --version and --help without a display (and without Qt),
and a clear message with exit code 2 instead of Qt's abort when Qt cannot open a window."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from app import platform_check
from support import ROOT

FLOWDESK_SCRIPT = Path(sys.executable).with_name("flowdesk")

# What ldd printed on a Debian 12 machine without the xcb helper libraries (the case),
# for Qt's libQt6XcbQpa.so.6; addresses shortened.
CAPTURED_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6Gui.so.6 => /venv/PySide6/Qt/lib/libQt6Gui.so.6 (0x00007f3a)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-xkb.so.1 => /lib/x86_64-linux-gnu/libxcb-xkb.so.1 (0x00007f3b)
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3c)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3d)
"""


def headless_env(**extra: str) -> dict[str, str]:
    """The environment of a shell with no display: no DISPLAY, WAYLAND_DISPLAY, QT_QPA_PLATFORM."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE",
                        "QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH", "FLOWDESK_SKIP_PLATFORM_CHECK")}
    env.update(extra)
    return env


def flowdesk(*args: str, env: dict[str, str], modules: bool = False) -> subprocess.CompletedProcess:
    """Run the installed ``flowdesk`` command; with ``modules`` it runs the same entry point
    under ``python -c`` and prints, at exit, which of Qt, Alembic and GitPython it imported."""
    if modules:
        code = textwrap.dedent("""
            import atexit, sys
            atexit.register(lambda: print("IMPORTED", sorted({m.split(".")[0] for m in sys.modules}
                                                           & {"PySide6", "alembic", "git"}), file=sys.stderr))
            from app.launcher import main
            sys.exit(main(sys.argv[1:]))
        """)
        command = [sys.executable, "-c", code, *args]
    else:
        command = [str(FLOWDESK_SCRIPT), *args] if FLOWDESK_SCRIPT.exists() else \
            [sys.executable, "-m", "app.launcher", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=env, cwd=ROOT)


def imported(result: subprocess.CompletedProcess) -> list[str]:
    line = next(line for line in result.stderr.splitlines() if line.startswith("IMPORTED "))
    return ast.literal_eval(line.removeprefix("IMPORTED "))  # the list the child above printed


def free_display_number() -> int:
    """An X display number nothing listens on (neither abstract nor file socket)."""
    for number in range(4711, 4800):
        path = f"/tmp/.X11-unix/X{number}"
        taken = os.path.exists(path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect("\0" + path)
                taken = True
            except OSError:
                pass
        if not taken:
            return number
    pytest.skip("no free X display number")


def test_version_without_a_display_and_without_qt():
    result = flowdesk("--version", env=headless_env(), modules=True)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"flowdesk {version}"
    assert imported(result) == []
    assert subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True,
                          env=headless_env(), cwd=ROOT).stdout.strip() == f"flowdesk {version}"


def test_fallback_version_matches_the_project():
    # A frozen app may carry no package metadata; the constant then is what --version prints.
    import engine_core

    assert engine_core.VERSION == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_help_lists_the_ide_and_every_command_without_qt():
    result = flowdesk("--help", env=headless_env(), modules=True)
    assert result.returncode == 0, result.stderr
    commands = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")]
    assert commands[:2] == ["ide", "run"]
    assert {"debug", "executions", "show", "cancel", "flows", "forms", "respond", "pause", "resume",
            "graph", "git"} <= set(commands)
    assert imported(result) == []  # neither Qt nor the git command's GitPython
    assert "[DIR]" in flowdesk("ide", "--help", env=headless_env()).stdout


def test_lazily_loaded_commands_are_listed_with_their_own_help():
    import argparse

    from engine_core import cli

    def helps(parser: argparse.ArgumentParser) -> dict[str, str]:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return {choice.dest: choice.help for choice in action._choices_actions}

    for name in cli._PLUGGED:
        assert helps(cli.build_parser(name))[name] == helps(cli.build_parser(None))[name]


def test_unknown_platform_plugin_lists_the_available_ones():
    result = flowdesk(env=headless_env(QT_QPA_PLATFORM="nosuchplugin", DISPLAY=":0"))
    assert result.returncode == 2
    assert "QT_QPA_PLATFORM=nosuchplugin names no Qt platform plugin" in result.stderr
    available = result.stderr.split("Available: ", 1)[1].splitlines()[0].split(", ")
    assert {"offscreen", "xcb", "minimal"} <= set(available)
    assert "Traceback" not in result.stderr and "could not load the Qt platform plugin" not in result.stderr


@pytest.mark.parametrize("command", [["flowdesk"], ["flowdesk", "ide", "."], ["python", "-m", "app"]])
def test_no_display_says_so_and_suggests_the_cli_or_offscreen(command):
    if command[0] == "python":
        result = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60,
                                env=headless_env(), cwd=ROOT)
    else:
        result = flowdesk(*command[1:], env=headless_env())
    assert result.returncode == 2, result.stderr
    assert "there is no display to show it on" in result.stderr
    assert "flowdesk run FLOW" in result.stderr and "QT_QPA_PLATFORM=offscreen flowdesk" in result.stderr
    assert result.stdout == ""


def test_a_display_nobody_serves_is_named():
    number = free_display_number()
    result = flowdesk(env=headless_env(DISPLAY=f":{number}"))
    assert result.returncode == 2
    assert f"no X server answers on display :{number}" in result.stderr


def test_offscreen_passes_the_check():
    assert platform_check.check(headless_env(QT_QPA_PLATFORM="offscreen")) is None
    assert platform_check.check(headless_env(QT_QPA_PLATFORM="nosuch;offscreen")) is None


def test_ldd_output_maps_to_debian_and_fedora_packages():
    sonames = platform_check.parse_ldd(CAPTURED_LDD)
    assert sonames == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-icccm.so.4"]
    message = platform_check.missing_libraries_message(["libxcb-cursor.so.0", "libxcb-icccm.so.4",
                                                        "libxcb-keysyms.so.1", "libfrobnicate.so.3"])
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1\n" in message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms\n" in message
    assert "apt-file search libfrobnicate.so.3" in message and "dnf provides '*/libfrobnicate.so.3'" in message
    # Two sonames from one package name it once.
    debian, fedora, unknown = platform_check.packages_for(["libglib-2.0.so.0", "libgthread-2.0.so.0",
                                                           "libxcb-shm.so.0", "libxcb-sync.so.1"])
    assert (debian, fedora, unknown) == (["libglib2.0-0", "libxcb-shm0", "libxcb-sync1"], ["glib2", "libxcb"], [])


def absent_sonames(count: int) -> list[str]:
    """Sonames from the package table that this machine does not have (ldconfig's cache)."""
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    absent = [s for s in platform_check.SONAME_PACKAGES if f"{s} (" not in cache]
    if len(absent) < count:
        pytest.skip(f"this machine has all but {len(absent)} of the xcb libraries")
    return absent[:count]


def test_qt_libraries_ldd_cannot_see_are_not_reported_as_system_libraries(tmp_path):
    # In a frozen app ldd may not find Qt's own libraries, which the IDE has loaded already.
    qt = tmp_path / "PySide6" / "Qt"
    (qt / "lib").mkdir(parents=True)
    (qt / "lib" / "libicuuc.so.73").write_bytes(b"")
    sonames = ["libQt6Gui.so.6", "libicuuc.so.73", "libxcb-cursor.so.0", "libpyside6.abi3.so.6.11"]
    assert platform_check.system_libraries(sonames, qt) == ["libxcb-cursor.so.0"]


@pytest.fixture
def plugin_missing_libraries(tmp_path) -> tuple[Path, list[str]]:
    """A real shared library named like Qt's xcb plugin, linked against a library this machine
    lacks (from the table) and one nobody has, which exist only at link time: ``ldd`` reports
    both "not found"."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or shutil.which("ldconfig") is None:
        pytest.skip("no C compiler (or ldconfig) to build a library with missing dependencies")
    sonames = [*absent_sonames(1), "libflowdesk-nowhere.so.3"]
    build = tmp_path / "build"
    build.mkdir()
    (build / "empty.c").write_text("int flowdesk_test_symbol(void) { return 1; }\n")
    for soname in sonames:
        subprocess.run([cc, "-shared", "-fPIC", "-o", build / soname, f"-Wl,-soname,{soname}", build / "empty.c"],
                       check=True)
    platforms = tmp_path / "platforms"
    platforms.mkdir()
    plugin = platforms / "libqxcb.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", plugin, build / "empty.c", "-Wl,--no-as-needed", f"-L{build}",
                    *[f"-l:{soname}" for soname in sonames]], check=True)
    shutil.rmtree(build)
    return plugin, sonames


def test_ldd_finds_the_missing_libraries_of_a_real_library(plugin_missing_libraries):
    plugin, sonames = plugin_missing_libraries
    assert platform_check.missing_libraries([plugin]) == sonames


def test_the_real_xcb_plugin_is_complete_here():
    # This machine has the libraries (see verified-stack.md): ldd finds every one.
    qt = platform_check.find_qt_dir()
    libraries = platform_check.xcb_libraries(qt, {})
    assert [p.name for p in libraries] == ["libqxcb.so", "libQt6XcbQpa.so.6"]
    assert platform_check.missing_libraries(libraries) == []


@pytest.fixture
def x_server():
    """A real X server (Xvfb) on a free display; skipped where Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"], pass_fds=[write],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_missing_xcb_libraries_are_named_with_the_install_commands(x_server, plugin_missing_libraries):
    # Qt looks in QT_QPA_PLATFORM_PLUGIN_PATH first, and so does the check: the plugin found
    # there is the one whose libraries are missing.
    plugin, (known, unknown) = plugin_missing_libraries
    debian, fedora = platform_check.SONAME_PACKAGES[known]
    result = flowdesk(env=headless_env(DISPLAY=x_server, QT_QPA_PLATFORM_PLUGIN_PATH=str(plugin.parent)))
    assert result.returncode == 2, result.stderr
    assert f"    {known} {unknown}\n" in result.stderr
    assert f"sudo apt install {debian}\n" in result.stderr and f"sudo dnf install {fedora}\n" in result.stderr
    assert f"apt-file search {unknown}" in result.stderr
    assert "could not load the Qt platform plugin" not in result.stderr


def test_a_working_x_display_passes_the_check(x_server):
    assert platform_check.check(headless_env(DISPLAY=x_server)) is None
