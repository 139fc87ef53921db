"""Build real wheels inside a test, so package tests use real pip with no network.

A wheel is a zip with the package's modules and a `<name>-<version>.dist-info/` folder
(METADATA, WHEEL, RECORD). pip checks RECORD's sha256 of every file when it installs, so the
hashes here are real, and the file name follows the wheel spec (name normalised to
underscores) or pip refuses it.
"""
from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path


def _wheel_name(name: str) -> str:
    # The wheel file name escapes runs of -_. to a single underscore (PEP 427/491).
    return re.sub(r"[-_.]+", "_", name)


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_wheel(out_dir: Path, name: str, version: str, modules: dict[str, str] | None = None,
                requires: list[str] | tuple[str, ...] = ()) -> Path:
    """Write `<name>-<version>-py3-none-any.whl` into out_dir and return its path.

    modules maps a path inside the wheel ("mypkg/__init__.py" or "mymod.py"; a bare
    "mymod" gets ".py") to its source. Without modules the wheel holds one module named
    after the distribution whose VERSION is the wheel's version, so a flow can print it.
    requires become Requires-Dist lines (pip resolves them like any other dependency).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _wheel_name(name)
    if modules is None:
        module = stem.lower()
        modules = {f"{module}.py": f"VERSION = {version!r}\n"}
    files: dict[str, bytes] = {}
    for path, source in modules.items():
        if not path.endswith(".py") and "/" not in path:
            path += ".py"
        files[path] = source.encode("utf-8")
    dist_info = f"{stem}-{version}.dist-info"
    metadata = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                f"Summary: throw-away test package {name}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n\n").encode("utf-8")
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: flowdesk-tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n\n").encode("utf-8")
    top = sorted({p.split("/")[0].removesuffix(".py") for p in modules})
    files[f"{dist_info}/top_level.txt"] = ("\n".join(top) + "\n").encode("utf-8")
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")
    wheel = out_dir / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel
