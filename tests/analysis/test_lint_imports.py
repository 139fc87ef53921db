"""The linter flags imports of modules that are not installed (with a quick fix naming the
distribution), and leaves alone what a flow can import: the standard library, Flowdesk's own
environment, the workspace's installed package set; modules in flows/ named as such."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine_core.analysis.completion import complete
from engine_core.analysis.lint import lint
from engine_core.analysis.problems import QuickFix
from engine_core.packages import import_names
from engine_core.packages.import_names import distribution_for_import, importable
from packages.wheels import build_wheel

HANDLER = "\ndef handler(system, this, inputs):\n    return this.success('ok')\n"


@pytest.fixture(autouse=True)
def fresh_caches():
    import_names.clear_caches()
    yield
    import_names.clear_caches()


@pytest.fixture
def workspace(tmp_path) -> Path:
    (tmp_path / "flows").mkdir()
    return tmp_path


def package_problems(source: str, workspace: Path, flow: str = "Main") -> list:
    problems = lint(source + HANDLER, str(workspace / "flows" / f"{flow}.py"), packages_root=workspace)
    return [p for p in problems if p.source == "packages"]


def install_set(workspace: Path, wheels: Path, requirement: str, set_id: str) -> Path:
    """What an install leaves: a complete `pip install --target` set, then current.json naming it."""
    set_dir = workspace / ".flowdesk" / "packages" / "sets" / set_id
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels),
                    "--target", str(set_dir), "--disable-pip-version-check", requirement], check=True)
    current = workspace / ".flowdesk" / "packages" / "current.json"
    tmp = current.with_suffix(".tmp")
    tmp.write_text(json.dumps({"set": set_id, "python": "3.11", "installed": {}, "installed_at": time.time()}))
    os.replace(tmp, current)
    return set_dir


# -- what is flagged ------------------------------------------------------------------------

def test_missing_module_is_a_warning_with_a_quick_fix(workspace):
    [problem] = package_problems("import os\nimport yaml_like_missing\n", workspace)
    assert problem.message == ("module 'yaml_like_missing' is not installed: "
                               "add yaml_like_missing to requirements.txt")
    assert problem.severity == "warning"
    assert (problem.line, problem.column, problem.end_column) == (2, 7, 24)
    assert problem.fix == QuickFix("Add yaml_like_missing to requirements.txt and install",
                                   "add_requirement", "yaml_like_missing")


def test_import_name_mapped_to_its_distribution(workspace):
    # bs4, not yaml: PyYAML came into the environment with distributed (Dask).
    problems = package_problems("import bs4\nfrom PIL import Image\nimport google.protobuf.message\n"
                                "from sklearn.linear_model import LinearRegression\n", workspace)
    assert [(p.line, p.message) for p in problems] == [
        (1, "module 'bs4' is not installed: add beautifulsoup4 to requirements.txt"),
        (2, "module 'PIL' is not installed: add Pillow to requirements.txt"),
        (3, "module 'google.protobuf' is not installed: add protobuf to requirements.txt"),
        (4, "module 'sklearn' is not installed: add scikit-learn to requirements.txt"),
    ]
    assert [p.fix.argument for p in problems] == ["beautifulsoup4", "Pillow", "protobuf", "scikit-learn"]
    # 'from PIL import Image': the module's name is underlined, not 'from'.
    assert (problems[1].column, problems[1].end_column) == (5, 8)


def test_imports_anywhere_are_checked(workspace):
    source = ("import json, missing_one as m1\n"
              "def helper():\n    import missing_two\n"
              "class Tool:\n    from missing_three.sub import thing\n"
              "try:\n    pass\nexcept ImportError:\n    import missing_four\n"  # the fallback itself
              "try:\n    import missing_five\nexcept KeyError:\n    pass\n")
    names = [p.message.split("'")[1] for p in package_problems(source, workspace)]
    assert names == ["missing_one", "missing_two", "missing_three", "missing_four", "missing_five"]


# -- what is not flagged --------------------------------------------------------------------

def test_stdlib_flowdesk_environment_and_flow_api_are_not_flagged(workspace):
    source = ("import os, sys, json, sqlite3, __future__\nimport xml.etree.ElementTree\n"
              "from collections import OrderedDict\nimport flow_api\nimport pyflakes.checker\nimport jedi\n")
    assert package_problems(source, workspace) == []


def test_relative_and_guarded_imports_are_not_flagged(workspace):
    source = ("from . import sibling\nfrom .helpers import x\n"
              "try:\n    import ujson_missing as json\nexcept ImportError:\n    import json\n"
              "try:\n    import a_missing\n    from b_missing import y\nexcept (ValueError, ModuleNotFoundError):\n    pass\n"
              "try:\n    import c_missing\nexcept:\n    pass\n"
              "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import d_missing\n")
    assert package_problems(source, workspace) == []


def test_an_import_in_a_function_defined_in_a_try_is_not_guarded(workspace):
    # The function runs later, outside the try.
    source = "try:\n    def later():\n        import e_missing\nexcept ImportError:\n    pass\n"
    assert [p.line for p in package_problems(source, workspace)] == [3]


def test_modules_beside_the_flow_are_named_as_not_importable(workspace):
    # A worker does not import from flows/ (`flowdesk run` of such a flow fails with
    # ModuleNotFoundError), so these are reported, without the requirements.txt fix.
    (workspace / "flows" / "shared_helpers.py").write_text("X = 1\n")
    (workspace / "flows" / "toolkit").mkdir()
    (workspace / "flows" / "toolkit" / "__init__.py").write_text("")
    source = "import shared_helpers\nfrom toolkit import thing\nimport not_beside\n"
    found = package_problems(source, workspace)
    assert [(p.line, p.fix is None) for p in found] == [(1, True), (2, True), (3, False)]
    assert "this.flow('shared_helpers')" in found[0].message
    assert "not installed" in found[2].message
    # Added while the flow is open: the listing follows the folder.
    (workspace / "flows" / "not_beside.py").write_text("")
    os.utime(workspace / "flows", ns=(time.time_ns() + 10**9,) * 2)
    assert [p.fix for p in package_problems(source, workspace)] == [None, None, None]


def test_without_a_workspace_imports_are_not_checked():
    assert [p for p in lint("import yaml_like_missing\n" + HANDLER) if p.source == "packages"] == []


def test_a_syntax_error_is_still_the_only_problem(workspace):
    problems = lint("import yaml_like_missing\ndef (\n", str(workspace / "flows" / "A.py"), packages_root=workspace)
    assert [p.source for p in problems] == ["syntax"]


# -- the mapping ----------------------------------------------------------------------------

@pytest.mark.parametrize("module, distribution", [
    ("yaml", "PyYAML"), ("PIL.Image", "Pillow"), ("cv2", "opencv-python"), ("sklearn", "scikit-learn"),
    ("bs4", "beautifulsoup4"), ("dateutil.parser", "python-dateutil"), ("jwt", "PyJWT"),
    ("dotenv", "python-dotenv"), ("OpenSSL", "pyOpenSSL"), ("Crypto.Cipher", "pycryptodome"),
    ("serial", "pyserial"), ("git", "GitPython"), ("docx", "python-docx"), ("zmq", "pyzmq"),
    ("attr", "attrs"), ("MySQLdb", "mysqlclient"), ("psycopg2", "psycopg2-binary"),
    ("magic", "python-magic"), ("ldap", "python-ldap"), ("google.protobuf", "protobuf"),
    ("some_unknown_module", "some_unknown_module"), ("requests", "requests"),
])
def test_distribution_for_import_table(module, distribution):
    assert distribution_for_import(module) == distribution


def test_distribution_for_import_reads_flowdesk_metadata():
    # Installed distributions are the truth: PySide6's modules come from PySide6-Essentials here.
    assert distribution_for_import("pyflakes") == "pyflakes"
    assert distribution_for_import("PySide6.QtCore").lower().startswith("pyside6")
    assert distribution_for_import("") is None


def test_importable():
    assert importable("os.path", None) and importable("jedi", None) and importable("flow_api", None)
    assert not importable("yaml_like_missing", None)


# -- the workspace's package set (real wheels, real pip) ------------------------------------

@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    build_wheel(folder, "acme-tools", "1.0", {"acme_util/__init__.py": "def shout(text):\n    return text.upper()\n"})
    build_wheel(folder, "acme-tools", "2.0", {"acme_util/__init__.py": "def shout(text):\n    return text.upper()\n",
                                              "acme_extra.py": "Y = 2\n"})
    return folder


def test_modules_of_the_installed_set_are_importable(workspace, wheels):
    source = "import acme_util\nimport acme_extra\n"
    assert [p.message for p in package_problems(source, workspace)] == [
        "module 'acme_util' is not installed: add acme_util to requirements.txt",
        "module 'acme_extra' is not installed: add acme_extra to requirements.txt"]

    install_set(workspace, wheels, "acme-tools==1.0", "set-one")
    assert [p.line for p in package_problems(source, workspace)] == [2]  # 1.0 has no acme_extra
    assert importable("acme_util", workspace) and not importable("acme_util", None)
    # The distribution comes from the set's metadata (the module is not named like it).
    assert distribution_for_import("acme_util", workspace) == "acme-tools"

    # A new install points current.json at a new set: the next lint sees it.
    time.sleep(0.01)
    install_set(workspace, wheels, "acme-tools==2.0", "set-two")
    assert package_problems(source, workspace) == []


def test_a_missing_or_broken_current_json_means_no_set(workspace):
    packages = workspace / ".flowdesk" / "packages"
    packages.mkdir(parents=True)
    (packages / "current.json").write_text("{half")
    assert import_names.workspace_set_dir(workspace) is None
    (packages / "current.json").write_text(json.dumps({"set": "gone"}))  # a set deleted by hand
    assert len(package_problems("import acme_util\n", workspace)) == 1


def test_completion_sees_the_workspace_set(workspace, wheels):
    install_set(workspace, wheels, "acme-tools==1.0", "set-one")
    source = "import acme_util\nacme_util.sh"
    names = [c.name for c in complete(source, 2, len("acme_util.sh"), path=str(workspace / "flows" / "Main.py"))]
    assert "shout" in names
    other = workspace.parent / (workspace.name + "-other")
    (other / "flows").mkdir(parents=True)
    names = [c.name for c in complete(source, 2, len("acme_util.sh"), path=str(other / "flows" / "Main.py"))]
    assert "shout" not in names  # another workspace has no such package


def test_the_set_in_use_is_the_one_current_json_names(workspace, wheels):
    set_dir = install_set(workspace, wheels, "acme-tools==1.0", "set-one")
    assert import_names.workspace_set_dir(workspace) == set_dir
    assert package_problems("import acme_util\n", workspace) == []
    (workspace / ".flowdesk" / "packages" / "current.json").unlink()
    assert import_names.workspace_set_dir(workspace) is None
