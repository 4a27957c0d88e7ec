#!/usr/bin/env python3
"""Check a Rights Relay access grant offline, on the server that hosts a gated model. Copy this
file; it needs only the Python standard library and `cryptography`.

A grant is `rrg1.<claims>.<signature>` (base64url): the claims name the model, the revision,
the subscriber and the expiry; the signature is Ed25519 by the service's key, the one that
signs webhooks (`v1a`), published at /.well-known/rights-relay/webhook-keys.json. The signed
bytes are `rights-relay:access-grant:v1:` + the claims text, so a webhook signature can never
pass for a grant, nor a grant for a webhook signature.

As a library:

    from grant import GrantError, verify_grant
    claims = verify_grant(token, public_keys, model="acme/chat-7b", revision="9f0c2e1")

As a command (exit 0 and the claims when the grant holds, 1 and the reason otherwise):

    python grant.py rrg1.... --keys-url https://RR/.well-known/rights-relay/webhook-keys.json \\
        --model acme/chat-7b --revision 9f0c2e1

Fetch the keys once and keep them (refresh them now and then: during a key rotation two are
published); checking a grant then needs no network.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
import urllib.request
from collections.abc import Iterable
from typing import Any

PREFIX = "rrg1"
DOMAIN = b"rights-relay:access-grant:v1:"
TYPE = "rights-relay/access-grant"
LEEWAY_SECONDS = 30  # clock difference tolerated at the expiry


class GrantError(Exception):
    """The grant is malformed, forged, expired, or for another model or revision."""


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_bytes(key: str) -> bytes:
    return base64.b64decode(key.removeprefix("whpk_"))


def verify_grant(token: str, public_keys: Iterable[str], *, model: str | None = None,
                 revision: str | None = None, now: float | None = None,
                 leeway: int = LEEWAY_SECONDS) -> dict[str, Any]:
    """Return the grant's claims, or raise GrantError saying why it does not hold.
    `revision` may be the revision (commit SHA or tag) or the version label."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise GrantError("not an access grant")
    try:
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise GrantError("not an access grant (bad encoding)") from None
    content = DOMAIN + parts[1].encode()
    for key in public_keys:
        try:
            Ed25519PublicKey.from_public_bytes(_key_bytes(key)).verify(signature, content)
            break
        except (InvalidSignature, ValueError, binascii.Error):
            continue
    else:
        raise GrantError("forged or altered: the signature matches no published key")
    try:  # parsed only once the signature holds
        claims = json.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError):
        raise GrantError("not an access grant (bad encoding)") from None
    if not isinstance(claims, dict) or claims.get("typ") != TYPE:
        raise GrantError("not an access grant")
    if not isinstance(claims.get("exp"), int) or claims["exp"] + leeway <= (
            time.time() if now is None else now):
        raise GrantError("expired")
    if model is not None and claims.get("model") != model:
        raise GrantError("for another model")
    if revision is not None and revision not in (claims.get("revision"), claims.get("label")):
        raise GrantError("for another revision")
    return claims


def fetch_public_keys(url: str) -> list[str]:
    """The keys published at /.well-known/rights-relay/webhook-keys.json."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("the keys URL must be http(s)")
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (scheme checked)
        doc = json.load(resp)
    return [k["public_key"] for k in doc["keys"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a Rights Relay access grant offline.")
    parser.add_argument("grant", help="the rrg1... token")
    parser.add_argument("--public-key", action="append", default=[],
                        help="a whpk_ public key; repeat for several")
    parser.add_argument("--keys-file", help="a saved copy of webhook-keys.json")
    parser.add_argument("--keys-url", help="fetch the keys from this URL")
    parser.add_argument("--model", help="the model being downloaded (namespace/name)")
    parser.add_argument("--revision", help="the revision or version label being downloaded")
    args = parser.parse_args(argv)
    keys = list(args.public_key)
    if args.keys_file:
        with open(args.keys_file) as f:
            keys += [k["public_key"] for k in json.load(f)["keys"]]
    if args.keys_url:
        keys += fetch_public_keys(args.keys_url)
    if not keys:
        parser.error("give the service's public keys (--public-key, --keys-file or --keys-url)")
    try:
        claims = verify_grant(args.grant, keys, model=args.model, revision=args.revision)
    except GrantError as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(claims, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
