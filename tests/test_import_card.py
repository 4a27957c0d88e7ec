"""`rights-relay import-card` reads a Hugging Face model card's front matter from a README.md
or a model folder and registers or updates the model and its parents: one parent, a list of
parents, and broken cards, which change nothing."""

from __future__ import annotations

import re
import subprocess

import pytest

from app.lineage.cards import CardError, read
from tests.propagation import model
from tests.support import CLI, cli_env

ONE_PARENT = """---
license: apache-2.0
base_model: acme/base
language: [en]
---
# Chat tune

A fine-tune of acme/base.
"""

MERGE = """---
license: other
license_name: acme-community
base_model:
  - acme/base
  - hub/unregistered-7b
base_model_relation: merge
---
A merge.
"""


def import_card(settings, path, *args, org="org-b", model_id="tune/chat"):
    return subprocess.run([CLI, "import-card", str(path), "--org", org, "--id", model_id, *args],
                          env=cli_env(settings), capture_output=True, text=True, timeout=60)


def test_a_card_with_one_parent_registers_the_model(settings, org_a, org_b, tmp_path):
    model(org_a, "acme/base")
    card = tmp_path / "README.md"
    card.write_text(ONE_PARENT)
    r = import_card(settings, card, "--title", "Chat tune")
    assert r.returncode == 0, r.stderr
    assert "registered tune/chat (licence Apache-2.0)" in r.stdout
    assert "derived from acme/base" in r.stdout
    got = org_b.admin.get("/v1/models/tune/chat").json()
    assert (got["title"], got["licence"], got["derived_from"]) == (
        "Chat tune", "Apache-2.0", ["acme/base"])
    # The parent stays org_a's, untouched.
    assert org_b.admin.get("/v1/models/acme/base").status_code == 404


def test_a_card_with_a_list_of_parents_in_a_folder_registers_placeholders(settings, org_a,
                                                                           org_b, tmp_path):
    model(org_a, "acme/base")
    folder = tmp_path / "chat-merge"
    folder.mkdir()
    (folder / "README.md").write_text(MERGE)
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    r = import_card(settings, folder)
    assert r.returncode == 0, r.stderr
    assert "hub/unregistered-7b (registered as a placeholder, intake closed), merge" in r.stdout
    got = org_b.admin.get("/v1/models/tune/chat").json()
    assert got["licence"] == "LicenseRef-acme-community"
    assert got["parents"] == [{"id": "acme/base", "relation": "merge"},
                              {"id": "hub/unregistered-7b", "relation": "merge"}]
    placeholder = org_b.admin.get("/v1/models/hub/unregistered-7b").json()
    assert placeholder["intake_open"] is False
    assert placeholder["homepage"] == "https://huggingface.co/hub/unregistered-7b"

    # Importing an updated card updates the model: now one parent.
    (folder / "README.md").write_text(ONE_PARENT.replace("apache-2.0", "mit"))
    r = import_card(settings, folder)
    assert r.returncode == 0 and "updated tune/chat (licence MIT)" in r.stdout, r.stderr
    got = org_b.admin.get("/v1/models/tune/chat").json()
    assert (got["licence"], got["derived_from"]) == ("MIT", ["acme/base"])


def test_a_card_with_broken_yaml_is_refused_and_changes_nothing(settings, org_a, org_b,
                                                                tmp_path):
    model(org_a, "acme/base")
    path = tmp_path / "README.md"
    path.write_text("---\nbase_model: [acme/base\nlicense: mit\n---\n# Broken\n")
    r = import_card(settings, path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "the front matter is not valid YAML at line 3" in r.stderr
    assert "Traceback" not in r.stderr
    assert org_b.admin.get("/v1/models").json()["items"] == []


@pytest.mark.parametrize(("card", "message"), [
    ("---\nlicense: mit\n  base_model: acme/base\n---\n", "not valid YAML at line 3"),
    ("---\nbase_model: acme/base\n", "not closed by a --- line"),
    ("# no front matter\n", "no YAML front matter"),
    ("---\n- acme/base\n---\n", "must be a mapping"),
    ("---\nbase_model: 42\n---\n", "base_model: expected a model id"),
    ("---\nbase_model: []\n---\n", "base_model: an empty list"),
    ("---\nbase_model: [acme/base, {x: 1}]\n---\n", "base_model[1]: expected a model id"),
    ("---\nbase_model: not an id\n---\n", "base_model: expected a model id"),
    ("---\nlicense: [mit]\n---\n", "license: expected one licence id"),
    ("---\nlicense: not-a-licence\n---\n", "unknown SPDX licence id"),
    ("---\nbase_model: acme/base\nbase_model_relation: cousin\n---\n", "base_model_relation"),
    ("---\nbase_model_relation: merge\n---\n", "without a base_model"),
])
def test_malformed_cards_name_what_is_wrong(tmp_path, card, message):
    """The same parser the command uses, on each kind of mistake (wrong types above all)."""
    path = tmp_path / "README.md"
    path.write_text(card)
    with pytest.raises(CardError, match=re.escape(message)):
        read(path)


def test_refusals_of_the_registry_change_nothing(settings, org_a, org_b, tmp_path):
    model(org_a, "acme/base")
    card = tmp_path / "README.md"
    card.write_text(ONE_PARENT)
    # Another organisation's model cannot be updated from a card.
    r = import_card(settings, card, model_id="acme/base")
    assert r.returncode == 1 and "another organisation" in r.stderr
    # A card closing a cycle: tune/chat derives from acme/base; acme/base from tune/chat.
    assert import_card(settings, card).returncode == 0
    loop = tmp_path / "loop"
    loop.mkdir()
    (loop / "README.md").write_text("---\nbase_model: tune/chat\n---\n")
    r = import_card(settings, loop, org="org-a", model_id="acme/base")
    assert r.returncode == 1 and "cycle" in r.stderr
    assert org_a.admin.get("/v1/models/acme/base").json()["derived_from"] == []
    # Unknown organisation, missing card, bad id.
    assert import_card(settings, card, org="nobody").returncode == 1
    assert import_card(settings, tmp_path / "missing").returncode == 2
    assert import_card(settings, card, model_id="not-an-id").returncode == 2
