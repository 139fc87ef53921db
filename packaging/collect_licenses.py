#!/usr/bin/env python3
"""Write the licence notices of what Flowdesk ships with.

    python packaging/collect_licenses.py              # resources/app/licenses/ (committed)
    python packaging/collect_licenses.py --bundle DIR # + the system libraries inside a built bundle

From the venv: every distribution Flowdesk depends on (its licence files taken from the
installed dist's metadata), Python itself, Qt / PySide6 / shiboken6 (LGPL-3.0: the wheels
carry no licence text, so the LGPL-3.0 and GPL-3.0 texts come from the system's
common-licenses), and Scintilla / Lexilla (inside pyside6-scintilla and lexilla, whose
wheels only carry the bindings' MIT licence). INDEX.txt lists them all. With --bundle, the
shared system libraries PyInstaller copied into DIR/_internal get their Debian copyright
files in DIR/_internal/resources/app/licenses/system/."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "app" / "licenses"
COMMON_LICENSES = Path("/usr/share/common-licenses")

SCINTILLA_LICENSE = """\
Scintilla and Lexilla (the editor component and its lexers, compiled into pyside6-scintilla
and lexilla) are distributed under this licence:

License for Scintilla and SciTE

Copyright 1998-2021 by Neil Hodgson <neilh@scintilla.org>

All Rights Reserved

Permission to use, copy, modify, and distribute this software and its
documentation for any purpose and without fee is hereby granted,
provided that the above copyright notice appear in all copies and that
both that copyright notice and this permission notice appear in
supporting documentation.

NEIL HODGSON DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS
SOFTWARE, INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY
AND FITNESS, IN NO EVENT SHALL NEIL HODGSON BE LIABLE FOR ANY
SPECIAL, INDIRECT OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS,
WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER
TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE
OR PERFORMANCE OF THIS SOFTWARE.

Source: https://www.scintilla.org/ and https://www.scintilla.org/Lexilla.html
"""

QT_NOTICE = """\
Qt {qt} (the libraries under PySide6/Qt/), PySide6 {pyside} and shiboken6 {shiboken}
Copyright (C) The Qt Company Ltd. and other contributors.

Used under the GNU Lesser General Public License version 3 (LGPL-3.0-only), whose text
follows, with the GNU General Public License version 3 it refers to.
The libraries are shared objects loaded at run time: you may replace them with your own
builds of the same version (in the app bundle: _internal/PySide6/ and _internal/PySide6/Qt/lib/).
Source code: https://download.qt.io/official_releases/qt/ and
https://download.qt.io/official_releases/QtForPython/ (pyside-setup {pyside}).
"""


# Installed through an extra of a dependency (psycopg[binary]): not found by following names.
_THROUGH_EXTRAS = ["psycopg-binary"]


def runtime_distributions(root: str = "flowdesk") -> list[metadata.Distribution]:
    """``root``'s dependencies, recursively (extras left out), by their normalised names."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root, *_THROUGH_EXTRAS]
    while todo:
        name = _normalise(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            if _marker_holds(requirement):
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    seen.pop(_normalise(root), None)
    return sorted(seen.values(), key=lambda d: _normalise(d.metadata["Name"]))


def _marker_holds(requirement: str) -> bool:
    if ";" not in requirement:
        return True
    try:
        from packaging.requirements import Requirement
    except ImportError:  # without `packaging`, keep it: a notice too many is harmless
        return True
    marker = Requirement(requirement).marker
    return marker.evaluate() if marker else True


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def licence_texts(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """(file name, text) of each licence file the installed dist carries."""
    found = []
    for file in dist.files or []:
        name = Path(str(file)).name.upper()
        if name.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")) and ".dist-info" in str(file):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                found.append((str(file).split(".dist-info/", 1)[1], path.read_text(errors="replace")))
    return found


def licence_name(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    text = meta.get("License") or ""
    if text and len(text) < 80 and "\n" not in text:
        return text
    classifiers = [c.rsplit(" :: ", 1)[1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classifiers) or "see the text"


# Shipped in the app bundle without being a dependency: pip installs a workspace's
# requirements.txt (packaging/bundle_contents.pip_tree). Its dist-info carries the licences
# of the libraries it vendors too.
_SHIPPED_TOOLS = ["pip"]


def shipped_distributions() -> list[metadata.Distribution]:
    """Every distribution the app ships besides Flowdesk itself: its dependencies and pip."""
    found = {_normalise(d.metadata["Name"]): d for d in runtime_distributions()}
    for name in _SHIPPED_TOOLS:
        found.setdefault(_normalise(name), metadata.distribution(name))
    return [found[name] for name in sorted(found)]


def write_distribution_notices(out: Path) -> list[tuple[str, str, str]]:
    index = []
    for dist in shipped_distributions():
        name, version = dist.metadata["Name"], dist.version
        texts = licence_texts(dist)
        body = [f"{name} {version}", f"Licence: {licence_name(dist)}",
                f"Home: {dist.metadata.get('Home-page') or _project_url(dist)}", ""]
        if texts:
            for filename, text in texts:
                body += [f"----- {filename} -----", text.rstrip(), ""]
        else:
            body.append("(The installed distribution carries no licence file; see its home page.)")
        (out / f"{_normalise(name)}.txt").write_text("\n".join(body) + "\n")
        index.append((name, version, licence_name(dist)))
    return index


def _project_url(dist: metadata.Distribution) -> str:
    urls = dist.metadata.get_all("Project-URL") or []
    return urls[0].split(",", 1)[-1].strip() if urls else "-"


def write_fixed_notices(out: Path) -> list[tuple[str, str, str]]:
    index = []
    pyside = metadata.version("PySide6-Essentials")
    qt_texts = [QT_NOTICE.format(qt=_qt_version(), pyside=pyside, shiboken=metadata.version("shiboken6"))]
    for name in ("LGPL-3", "GPL-3"):
        path = COMMON_LICENSES / name
        qt_texts.append(f"----- {name} -----\n" + (path.read_text() if path.exists() else
                                                    f"(text not found on this system: https://www.gnu.org/licenses/{name.lower()}.0.txt)\n"))
    (out / "qt-pyside6-shiboken6.txt").write_text("\n".join(qt_texts))
    index.append(("Qt / PySide6 / shiboken6", pyside, "LGPL-3.0-only"))
    (out / "scintilla-lexilla.txt").write_text(SCINTILLA_LICENSE)
    index.append(("Scintilla / Lexilla (in pyside6-scintilla, lexilla)", "5.x", "HPND (Scintilla licence)"))
    python_licence = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "LICENSE.txt"
    if python_licence.exists():
        (out / "python.txt").write_text(f"Python {sys.version.split()[0]}\n\n" + python_licence.read_text())
        index.append(("Python", sys.version.split()[0], "PSF-2.0"))
    return index


def _qt_version() -> str:
    try:
        from PySide6.QtCore import qVersion

        return qVersion()
    except ImportError:
        return "6"


def write_system_notices(bundle: Path) -> int:
    """Debian copyright files of the shared libraries PyInstaller copied from this system."""
    internal = bundle / "_internal"
    out = internal / "resources" / "app" / "licenses" / "system"
    out.mkdir(parents=True, exist_ok=True)
    packages: dict[str, list[str]] = {}
    for lib in sorted(internal.glob("lib*.so*")):
        result = subprocess.run(["dpkg", "-S", f"*/{lib.name}"], capture_output=True, text=True) \
            if shutil.which("dpkg") else None
        if result is None or result.returncode != 0:
            continue
        package = result.stdout.split(":", 1)[0].strip()
        packages.setdefault(package, []).append(lib.name)
    for package, libs in packages.items():
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        text = copyright_file.read_text(errors="replace") if copyright_file.exists() else "(no copyright file found)\n"
        (out / f"{package}.txt").write_text(f"Debian package {package}: {', '.join(libs)}\n\n{text}")
    return len(packages)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="a built bundle (dist/flowdesk) to add the system libraries' notices to")
    args = parser.parse_args(argv)
    if args.bundle:
        count = write_system_notices(args.bundle)
        print(f"collect_licenses: {count} system packages' copyright files in {args.bundle}")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.txt"):
        old.unlink()
    index = write_fixed_notices(OUT) + write_distribution_notices(OUT)
    lines = ["Flowdesk ships with these components; each file here holds its licence.", ""]
    lines += [f"{name} {version}: {licence}" for name, version, licence in index]
    (OUT / "INDEX.txt").write_text("\n".join(lines) + "\n")
    print(f"collect_licenses: {len(index)} notices in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
