"""packaging/install-desktop-entry into a temporary XDG_DATA_HOME: the .desktop file a
desktop reads, the icons where the icon theme looks, and --uninstall."""

from __future__ import annotations

import configparser
import os
import struct
import subprocess
import sys
from pathlib import Path

from packaging_support import ROOT

SCRIPT = ROOT / "packaging" / "install-desktop-entry"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def run_script(data_home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(data_home)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def fake_flowdesk(folder: Path) -> Path:
    folder.mkdir(parents=True)
    program = folder / "flowdesk"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    return program


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_install_writes_a_valid_entry_and_the_icons(tmp_path):
    program = fake_flowdesk(tmp_path / "my apps" / "Flowdesk")  # a space: Exec must quote it
    data_home = tmp_path / "share"
    result = run_script(data_home, "--exec", str(program))
    assert result.returncode == 0, result.stderr

    entry_file = data_home / "applications" / "flowdesk.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(entry_file)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Flowdesk"
    assert entry["Exec"] == f'"{program}" ide %f'
    assert entry["TryExec"] == str(program)
    assert entry["Icon"] == "flowdesk"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Development" in entry["Categories"].split(";")
    assert set(entry) <= {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon", "Terminal",
                          "Categories", "Keywords", "StartupNotify", "StartupWMClass"}, "only keys of the spec"

    icons = data_home / "icons" / "hicolor"
    for size in SIZES:
        assert png_size(icons / f"{size}x{size}" / "apps" / "flowdesk.png") == (size, size)
    assert (icons / "scalable" / "apps" / "flowdesk.svg").read_text().lstrip().startswith("<?xml")


def test_uninstall_removes_what_install_wrote(tmp_path):
    data_home = tmp_path / "share"
    assert run_script(data_home, "--exec", str(fake_flowdesk(tmp_path / "bin"))).returncode == 0
    result = run_script(data_home, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not (data_home / "applications" / "flowdesk.desktop").exists()
    assert not list((data_home / "icons").rglob("flowdesk.*"))


def test_a_missing_program_is_named_not_installed(tmp_path):
    result = run_script(tmp_path / "share", "--exec", str(tmp_path / "nowhere" / "flowdesk"))
    assert result.returncode == 2
    assert "nowhere/flowdesk is not an executable file" in result.stderr
    assert not (tmp_path / "share" / "applications").exists()
