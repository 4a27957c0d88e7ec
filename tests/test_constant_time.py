"""Secrets are compared in constant time: the source holds no `==`/`!=` between values named
like tokens, secrets, passwords, signatures, MACs or digests (hmac.compare_digest is used
instead). Column expressions (`Model.token_hash == digest(token)`) are database lookups by a
digest of a random token, not Python comparisons, and are left out; so are the audit chain's
hashes, which are public integrity checks, not secrets."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support import parse_source

APP = Path(__file__).resolve().parent.parent / "app"
SECRET_NAME = re.compile(r"token|secret|passw|signature|\bmac\b|^mac$|_mac|mac_|csrf|digest|hash",
                         re.IGNORECASE)
# file -> names whose comparison is not about a secret (why in the module docstring above).
NOT_SECRET = {"audit/service.py": {"prev_hash", "hash", "event_hash"}}


def names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Call):
        return names(node.func)
    return []


def is_column(node: ast.AST) -> bool:
    """`Model.column`: a SQLAlchemy expression, built for the database."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
        and node.value.id[:1].isupper()


def plain_comparisons_of_secrets(source: str, allowed: set[str]) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(parse_source(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(is_column(o) for o in operands):
            continue
        if any(isinstance(o, ast.Constant) and o.value in (None, "") for o in operands):
            continue  # "is it set", not "is it equal"
        hits = {n for o in operands for n in names(o) if SECRET_NAME.search(n)} - allowed
        if hits:
            found.append((node.lineno, ", ".join(sorted(hits))))
    return found


def test_the_scan_finds_a_plain_comparison():
    assert plain_comparisons_of_secrets("ok = given_token == stored_digest", set()) == [
        (1, "given_token, stored_digest")]
    assert plain_comparisons_of_secrets("if signature != expected_mac(body):\n  pass",
                                        set()) == [(1, "expected_mac, signature")]
    assert plain_comparisons_of_secrets("q = select(X).where(X.token_hash == digest(t))",
                                        set()) == []
    assert plain_comparisons_of_secrets("ok = hmac.compare_digest(a_token, b_token)", set()) == []


def test_no_secret_is_compared_with_equals_in_the_source():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP).as_posix()
        for line, what in plain_comparisons_of_secrets(path.read_text(),
                                                       NOT_SECRET.get(rel, set())):
            offenders.append(f"app/{rel}:{line}: {what}")
    assert offenders == [], "use hmac.compare_digest:\n" + "\n".join(offenders)
