"""Can Qt open a window here? Asked before the IDE creates its QApplication.

When Qt cannot load its platform plugin it prints "could not load the Qt platform plugin" and
aborts the process (SIGABRT), which tells a new user nothing about what to do. This check
finds the usual causes first and says what to do instead, with exit code 2:

- no display to connect to (no ``DISPLAY``, no ``WAYLAND_DISPLAY``: a shell over SSH);
- an X display that nothing listens on (``DISPLAY=:5`` left over from an earlier session);
- ``QT_QPA_PLATFORM`` naming a plugin that does not exist;
- system libraries the ``xcb`` plugin needs and a minimal Linux lacks (found with ``ldd``),
  with the command that installs them on Debian/Ubuntu and on Fedora.

It imports no Qt and reads only files and the environment, each time (nothing cached can go
stale); ``ldd`` runs only when the plugin is ``xcb``. It is a plain module of functions so each
part can be tested on its own. ``FLOWDESK_SKIP_PLATFORM_CHECK=1`` skips it, should it ever be
wrong about a machine."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Mapping

EXIT_NO_PLATFORM = 2

# Plugins that need a display server; every other one (offscreen, minimal, vnc, eglfs,
# linuxfb, ...) draws into memory, a VNC socket or the framebuffer.
_X11 = "xcb"
_WAYLAND_PREFIX = "wayland"

# soname -> (Debian/Ubuntu package, Fedora package), for what the xcb plugin and the Qt
# libraries it loads link against. Debian names checked with `dpkg -S` on Debian 12.
SONAME_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb-present.so.0": ("libxcb-present0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
    "libgcc_s.so.1": ("libgcc-s1", "libgcc"),
    "libstdc++.so.6": ("libstdc++6", "libstdc++"),
}

_LDD_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found\s*$")
_LDD_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*/")
_PLUGIN_FILE = re.compile(r"^libq(.+)\.so$")
_LOCAL_DISPLAY = re.compile(r"^(?:unix)?:(\d+)(?:\.\d+)?$")


def check(environ: Mapping[str, str] | None = None, qt_dir: Path | None = None) -> str | None:
    """None when Qt should be able to open a window; otherwise what to tell the user."""
    env = os.environ if environ is None else environ
    if env.get("FLOWDESK_SKIP_PLATFORM_CHECK") == "1" or sys.platform != "linux":
        return None
    qt = qt_dir or find_qt_dir()
    names = requested_platforms(env)
    available = available_platforms(plugin_dirs(qt, env)) if qt else []
    if env.get("QT_QPA_PLATFORM", "").strip() and available:
        names = [name for name in names if plugin_file(name, available)]
        if not names:
            return unknown_platform_message(env["QT_QPA_PLATFORM"], available)
    chosen = next((name for name in names if _has_display(name, env)), None)
    if chosen is None:
        return no_display_message(names)
    if chosen != _X11:
        return None
    unreachable = unreachable_x_display(env.get("DISPLAY", ""))
    if unreachable:
        return unreachable
    if qt is None:
        return None  # a Qt we cannot find on disk: let Qt itself try
    missing = system_libraries(missing_libraries(xcb_libraries(qt, env)), qt)
    return missing_libraries_message(missing) if missing else None


# -- which plugin Qt will use ------------------------------------------------------------------
def requested_platforms(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt tries, in order: ``QT_QPA_PLATFORM`` (a ``;``-separated list,
    each name optionally followed by ``:options``), else Wayland in a Wayland session with
    X11 as fallback, else X11 (Qt 6's choice on Linux)."""
    value = env.get("QT_QPA_PLATFORM", "").strip()
    if value:
        return [part.split(":", 1)[0].strip().lower() for part in value.split(";") if part.strip()]
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return [_WAYLAND_PREFIX, _X11]
    return [_X11]


def _has_display(name: str, env: Mapping[str, str]) -> bool:
    if name == _X11:
        return bool(env.get("DISPLAY"))
    if name.startswith(_WAYLAND_PREFIX):
        return bool(env.get("WAYLAND_DISPLAY"))
    return True


def find_qt_dir() -> Path | None:
    """PySide6's ``Qt`` folder (plugins/, lib/), found without importing PySide6; in a
    frozen app it sits in the bundle. None if there is none on disk."""
    candidates = []
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "Qt" for p in spec.submodule_search_locations]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "PySide6" / "Qt")
    return next((c for c in candidates if (c / "plugins" / "platforms").is_dir()), None)


def plugin_dirs(qt: Path, env: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins: the environment's paths first, then its own."""
    dirs = [Path(p) for p in env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    dirs += [Path(p) / "platforms" for p in env.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    dirs.append(qt / "plugins" / "platforms")
    return [d for d in dirs if d.is_dir()]


def available_platforms(dirs: list[Path]) -> list[str]:
    """Plugin names from file names (``libqxcb.so`` -> ``xcb``), sorted, without repeats."""
    names = set()
    for directory in dirs:
        for path in directory.iterdir():
            match = _PLUGIN_FILE.match(path.name)
            if match:
                names.add(match.group(1).lower())
    return sorted(names)


def plugin_file(name: str, available: list[str]) -> str | None:
    """The available plugin that serves ``name``: the one Wayland plugin file serves every
    ``wayland-*`` variant (wayland-egl, ...)."""
    if name in available:
        return name
    if name.startswith(_WAYLAND_PREFIX):
        return next((a for a in available if a.startswith(_WAYLAND_PREFIX)), None)
    return None


# -- an X display nothing listens on ------------------------------------------------------------
def unreachable_x_display(display: str) -> str | None:
    """For a local display (``:0``, ``unix:0.0``), the message when no X server accepts a
    connection on its socket; None when one does or when it is another host's display (not
    checked: that would wait on the network). Tries the abstract socket, then the file, as
    libxcb does."""
    match = _LOCAL_DISPLAY.match(display.strip())
    if not match:
        return None
    path = f"/tmp/.X11-unix/X{match.group(1)}"
    for address in ("\0" + path, path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(address)
                return None
            except OSError:
                continue
    return (f"flowdesk: cannot open the IDE: no X server answers on display {display} (DISPLAY={display}).\n"
            f"  Start the IDE from a terminal inside your desktop session, or set DISPLAY to a running one.\n"
            f"  To run a flow without a window:    flowdesk run FLOW -w DIR\n"
            f"  To start the IDE without a screen: QT_QPA_PLATFORM=offscreen flowdesk")


# -- system libraries the xcb plugin needs ------------------------------------------------------
def xcb_libraries(qt: Path, env: Mapping[str, str]) -> list[Path]:
    """The xcb plugin and Qt's XCB library: what ``ldd`` is asked about."""
    plugin = next((d / "libqxcb.so" for d in plugin_dirs(qt, env) if (d / "libqxcb.so").is_file()), None)
    qpa = qt / "lib" / "libQt6XcbQpa.so.6"
    return [p for p in (plugin, qpa) if p is not None and p.is_file()]


def missing_libraries(paths: list[Path]) -> list[str]:
    """Sonames that ``ldd`` reports as "not found" for any of ``paths``, in order, without
    repeats. Empty when ``ldd`` is not installed (then nothing can be said). ``ldd`` lists
    what a library needs transitively, so a path that an earlier one already loads (Qt's XCB
    library, from the plugin) is not asked about again: each ``ldd`` takes ~20-40 ms."""
    ldd = shutil.which("ldd")
    if not ldd:
        return []
    missing: list[str] = []
    loaded: set[str] = set()
    for path in paths:
        if path.name in loaded:
            continue
        try:
            result = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        loaded.update(m.group(1) for m in map(_LDD_FOUND.match, result.stdout.splitlines()) if m)
        for soname in parse_ldd(result.stdout):
            if soname not in missing:
                missing.append(soname)
    return missing


def system_libraries(sonames: list[str], qt: Path) -> list[str]:
    """Leave out Qt's own libraries. ``ldd``, run from outside, may not find them where a
    frozen app keeps them, yet the IDE loads them before the plugin, which then finds them
    loaded: they are never what a user has to install."""
    places = [qt / "lib", qt.parent, *([Path(sys._MEIPASS)] if getattr(sys, "_MEIPASS", None) else [])]
    return [s for s in sonames
            if not s.startswith(("libQt6", "libpyside6", "libshiboken6")) and not any((p / s).exists() for p in places)]


def parse_ldd(output: str) -> list[str]:
    """The sonames of ``ldd``'s "libfoo.so.1 => not found" lines."""
    return [m.group(1) for m in map(_LDD_NOT_FOUND.match, output.splitlines()) if m]


def packages_for(sonames: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(Debian/Ubuntu packages, Fedora packages, sonames with no known package), each in the
    order first needed, without repeats."""
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for soname in sonames:
        if soname not in SONAME_PACKAGES:
            unknown.append(soname)
            continue
        deb, rpm = SONAME_PACKAGES[soname]
        if deb not in debian:
            debian.append(deb)
        if rpm not in fedora:
            fedora.append(rpm)
    return debian, fedora, unknown


# -- messages -------------------------------------------------------------------------------
def missing_libraries_message(sonames: list[str]) -> str:
    debian, fedora, unknown = packages_for(sonames)
    lines = ["flowdesk: cannot open the IDE: Qt's X11 platform plugin (xcb) needs system libraries "
             "that are not installed:",
             "    " + " ".join(sonames)]
    if debian:
        lines += ["Install them, then start flowdesk again:",
                  "  Debian/Ubuntu:  sudo apt install " + " ".join(debian),
                  "  Fedora:         sudo dnf install " + " ".join(fedora)]
    for soname in unknown:
        lines.append(f"  {soname}: find the package that has it with `apt-file search {soname}` "
                     f"or `dnf provides '*/{soname}'`")
    lines.append("Flows run without these libraries: flowdesk run FLOW -w DIR")
    return "\n".join(lines)


def no_display_message(names: list[str]) -> str:
    wanted = " or ".join(sorted({"X11 (DISPLAY)" if n == _X11 else "Wayland (WAYLAND_DISPLAY)" for n in names}))
    return (f"flowdesk: cannot open the IDE: there is no display to show it on (it needs {wanted}, "
            f"and neither DISPLAY nor WAYLAND_DISPLAY is set, e.g. in a shell over SSH).\n"
            f"  To run a flow without a window:    flowdesk run FLOW -w DIR\n"
            f"  To start the IDE without a screen: QT_QPA_PLATFORM=offscreen flowdesk\n"
            f"  Over SSH, 'ssh -X' forwards your display.")


def unknown_platform_message(value: str, available: list[str]) -> str:
    return (f"flowdesk: cannot open the IDE: QT_QPA_PLATFORM={value} names no Qt platform plugin there is.\n"
            f"  Available: {', '.join(available)}\n"
            f"  Unset QT_QPA_PLATFORM to use the default (xcb on X11, wayland on Wayland), or set it to one of these.")
