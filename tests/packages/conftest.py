"""Fixtures for the package tests: a folder of real wheels built in the test, and a
requirements.txt that points pip at it only (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from packages.wheels import build_wheel

FLOW_USING = """
import greetlib

def handler(system, this, inputs):
    return this.success(greetlib.VERSION)
"""


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    for version in ("1.0", "2.0"):
        build_wheel(folder, "greetlib", version, requires=["greet-helper>=1"])
    build_wheel(folder, "greet-helper", "1.1", modules={"greet_helper/__init__.py": "HELPER = 1\n"})
    # depends on a version of one of Flowdesk's own distributions that Flowdesk does not have
    build_wheel(folder, "oldjedi-user", "1.0", modules={"oldjedi_user.py": "X = 1\n"}, requires=["jedi<0.10"])
    # the first wheel installs, the second escapes the target folder: pip fails midway
    build_wheel(folder, "breaks-midway", "1.0", modules={"breaks_midway.py": "X = 1\n", "../escaped.py": "X = 1\n"},
                requires=["greet-helper>=1"])
    return folder


def write_requirements(root: Path, wheels: Path, *lines: str) -> Path:
    path = Path(root) / "requirements.txt"
    path.write_text("\n".join(["--no-index", f"--find-links {wheels}", *lines]) + "\n", encoding="utf-8")
    return path
