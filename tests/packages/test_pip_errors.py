"""pip's failure output becomes one message naming the package that failed (parsed from pip's
own lines, as pip 26 prints them)."""

from __future__ import annotations

from pathlib import Path

from engine_core.packages.pip_errors import explain
from engine_core.packages.requirements import parse

LOG = Path("/ws/.flowdesk/packages/install.log")


def test_a_failed_build_names_the_package_pip_names_not_the_first_requirement():
    requirements = parse("greeting-lib==2.0\nsourceonly>=1\n")
    output = "\n".join([
        "Processing ./wheels/greeting_lib-2.0-py3-none-any.whl",
        "Processing ./wheels/sourceonly-1.0.tar.gz",
        "ERROR: the Flowdesk app installs wheels only and cannot build a package from source",
        "ERROR: Failed to build 'sourceonly' when installing build dependencies for sourceonly",
    ])
    message = explain(output, requirements, 1, LOG)
    assert message.startswith("could not install sourceonly>=1 (pip: ")
    assert "wheels only" in message and str(LOG) in message


def test_a_missing_distribution_names_it_and_its_line():
    requirements = parse("greeting-lib==2.0\nnosuchpkg==9\n")
    output = ("Looking in links: /w\nERROR: Could not find a version that satisfies the requirement "
              "nosuchpkg==9 (from versions: none)\nERROR: No matching distribution found for nosuchpkg==9\n")
    message = explain(output, requirements, 1, LOG)
    assert message.startswith("could not install nosuchpkg==9: no matching distribution")
    assert message.endswith("fix requirements.txt line 2 and install again")
