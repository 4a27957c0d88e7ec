"""Each guarantee in the README's `## Guarantees` names the tests that back it: they exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import parse_source


def _defined_tests(path: Path) -> set[str]:
    """Names of the module-level test functions of a test file."""
    if not path.exists():
        return set()
    return {n.name for n in parse_source(path.read_text()).body
            if isinstance(n, ast.FunctionDef)}


def test_every_test_named_in_the_guarantees_exists(repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", section))
    assert len(named) >= 20
    missing = []
    for file, test in sorted(named):
        if test not in _defined_tests(repo_root / "tests" / file):
            missing.append(f"{file}::{test}")
    assert missing == []


def test_every_test_named_in_what_the_record_proves_exists(repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## What the record proves", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", section))
    assert len(named) >= 15
    missing = []
    for file, test in sorted(named):
        if test not in _defined_tests(repo_root / "tests" / file):
            missing.append(f"{file}::{test}")
    assert missing == []
