"""The project's documents stand on their own: every relative link in README.md and
ARCHITECTURE.md points at a file inside the repository, and every path ARCHITECTURE.md names
exists."""

from __future__ import annotations

import re


def test_relative_links_stay_inside_the_repository(repo_root):
    for name in ("README.md", "ARCHITECTURE.md"):
        text = (repo_root / name).read_text()
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # an outside web address, not a file
            path = (repo_root / target).resolve()
            assert path.is_relative_to(repo_root.resolve()), (name, target)
            assert path.exists(), (name, target)


def test_the_architecture_map_names_real_paths(repo_root):
    text = (repo_root / "ARCHITECTURE.md").read_text()
    # Paths are written from the repository root (`migrations/versions/`) or, for the
    # service's own modules, from `app/` (`cases/lifecycle.py`).
    named = set(re.findall(r"`([\w.]+/[\w/.]*)`", text))
    assert len(named) > 10
    for rel in named:
        assert (repo_root / rel).exists() or (repo_root / "app" / rel).exists(), rel
    for package in re.findall(r"^\| `(\w+)`", text, re.M):
        assert (repo_root / "app" / package).is_dir(), package
