#!/usr/bin/env python3
"""Check a Rights Relay case export (`GET /v1/cases/{ref}/export`) with no database and no
Rights Relay installed: Python's standard library is enough (the Ed25519 signature is checked
too when the `cryptography` package is importable).

    python3 verify_export.py RR-7K3F-92QD.json      # exit 0: the record proves itself

What is checked, from the export's `proof` section alone:
1. every audit row of the case hashes (SHA-256 over canonical JSON) to the hash it carries;
2. the rows link, through the organisation's chain (`links`: the hash and previous hash of every
   row from the case's first row to the head), up to the chain's head, with no gap;
3. the readable timeline in `record` says what the hashed rows say;
4. the head is the one the service signed (`checkpoint`, Ed25519): compare its `kid` and
   `public_key` with the keys published at /.well-known/rights-relay/webhook-keys.json and with
   the checkpoints published at /v1/public/organizations/{slug}/audit-checkpoints.

This file is shipped twice, as `app/audit/verify_export.py` (what `rights-relay audit
verify-export` runs) and `tools/verify_export.py` (for a regulator); a test keeps them equal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import sys
from typing import Any

HASHED = ("org_id", "seq", "case_id", "actor", "action", "from", "to", "note", "details",
          "created_at", "prev_hash")
CHECKPOINT_CONTEXT = "rights-relay/audit-checkpoint/v1"


def row_hash(row: dict[str, Any]) -> str:
    payload = {k: row[k] for k in HASHED}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checkpoint_message(organization: str, seq: int, head_hash: str, signed_at: str) -> bytes:
    """What the service signs: the organisation's chain head at a time."""
    return f"{CHECKPOINT_CONTEXT}\n{organization}\n{seq}\n{head_hash}\n{signed_at}".encode()


def _signature_problem(cp: dict[str, Any]) -> str | None:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:  # pragma: no cover (the regulator's plain Python)
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
        key.verify(base64.b64decode(cp["signature"]),
                   checkpoint_message(cp["organization"], cp["seq"], cp["hash"],
                                      cp["signed_at"]))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return "the checkpoint's signature does not verify"
    return None


def check(export: dict[str, Any]) -> list[str]:
    """Every problem found; an empty list means the export proves itself."""
    try:
        proof = export["proof"]
        rows: list[dict[str, Any]] = proof["rows"]
        links = [(int(s), str(p), str(h)) for s, p, h in proof["links"]]
        head = proof["head"]
        checkpoint = proof["checkpoint"]
        timeline = export["record"]["timeline"]
    except (KeyError, TypeError, ValueError):
        return ["not a case export with a proof section"]
    problems: list[str] = []
    for row in rows:
        try:
            if not hmac.compare_digest(row_hash(row), str(row["hash"])):
                problems.append(f"row {row.get('seq')}: content was modified (hash mismatch)")
        except KeyError as exc:
            problems.append(f"row {row.get('seq')}: field {exc} is missing")
    by_seq = {s: (p, h) for s, p, h in links}
    for before, after in itertools.pairwise(links):
        if after[0] != before[0] + 1:
            problems.append(f"the chain skips from row {before[0]} to row {after[0]}")
        if after[1] != before[2]:
            problems.append(f"row {after[0]} does not link to row {before[0]}")
    for row in rows:
        if by_seq.get(int(row.get("seq") or 0)) != (row.get("prev_hash"), row.get("hash")):
            problems.append(f"row {row.get('seq')}: not the row the chain holds at that place")
    if not links or links[-1][0] != head.get("seq") or links[-1][2] != head.get("hash"):
        problems.append("the chain does not end at the exported head")
    if (checkpoint.get("seq"), checkpoint.get("hash")) != (head.get("seq"), head.get("hash")):
        problems.append("the signed checkpoint is not the exported head")
    signature = _signature_problem(checkpoint)
    if signature:
        problems.append(signature)
    hashed = {r.get("seq"): r for r in rows}
    if [e.get("seq") for e in timeline] != [r.get("seq") for r in rows]:
        problems.append("the timeline and the hashed rows are not the same rows")
    for e in timeline:
        r = hashed.get(e.get("seq"), {})
        said = (e.get("hash"), e.get("actor"), e.get("action"), e.get("from_status"),
                e.get("to_status"), e.get("details"))
        if said != (r.get("hash"), r.get("actor"), r.get("action"), r.get("from"),
                    r.get("to"), r.get("details")):
            problems.append(f"timeline entry {e.get('seq')} differs from its hashed row")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: verify_export.py EXPORT.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            export = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {argv[1]}: {exc.__class__.__name__}", file=sys.stderr)
        return 2
    problems = check(export) if isinstance(export, dict) else ["not a JSON object"]
    if problems:
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print("error: the export does not prove itself", file=sys.stderr)
        return 1
    proof = export["proof"]
    print(f"{export.get('record', {}).get('reference', '?')}: {len(proof['rows'])} rows, chain "
          f"intact up to row {proof['head']['seq']}, head signed by {proof['checkpoint']['kid']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
