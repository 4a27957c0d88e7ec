#!/usr/bin/env python3
"""Verify a Rights Relay webhook (Standard Webhooks). Copy this file; it needs only the Python
standard library, plus `cryptography` for `v1a` (Ed25519) signatures.

As a library:

    from verify import verify, WebhookVerificationError
    event = verify(body_bytes, request_headers, secret="whsec_...")            # v1
    event = verify(body_bytes, request_headers, public_keys=["whpk_..."])       # v1a

It checks the timestamp is within 5 minutes of now, then that at least one signature matches
(`v1,` HMAC-SHA256 with your endpoint secret, or `v1a,` Ed25519 with a published key), and
returns the parsed body. Deduplicate on the `webhook-id` header: deliveries are at least once.

As a command:

    python verify.py --headers headers.json --body body.json --secret whsec_...
    python verify.py --headers headers.json --body body.json \\
        --keys-url https://rights.example.org/.well-known/rights-relay/webhook-keys.json

exits 0 and prints the event type and id when the webhook is genuine, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    pass


def _b64(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


def _secret_bytes(secret: str) -> bytes:
    return _b64(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)


def _public_key_bytes(key: str) -> bytes:
    return _b64(key[len("whpk_"):] if key.startswith("whpk_") else key)


def _check_timestamp(value: str, now: float, tolerance: int) -> None:
    try:
        stamp = int(value)
    except ValueError:
        raise WebhookVerificationError("invalid webhook-timestamp") from None
    if stamp < now - tolerance:
        raise WebhookVerificationError("message timestamp too old")
    if stamp > now + tolerance:
        raise WebhookVerificationError("message timestamp too new")


def _v1_matches(secret: str, content: bytes, signature: bytes) -> bool:
    expected = hmac.new(_secret_bytes(secret), content, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)


def _v1a_matches(public_key: str, content: bytes, signature: bytes) -> bool:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError as exc:  # pragma: no cover - depends on the receiver's install
        raise WebhookVerificationError("v1a signatures need the `cryptography` package") from exc
    try:
        Ed25519PublicKey.from_public_bytes(_public_key_bytes(public_key)).verify(signature, content)
        return True
    except (InvalidSignature, ValueError):
        return False


def verify(body: bytes | str, headers: Mapping[str, str], *, secret: str | None = None,
           public_keys: Iterable[str] = (), tolerance: int = TOLERANCE_SECONDS,
           now: float | None = None) -> Any:
    """Check the webhook and return its parsed JSON body; raise WebhookVerificationError."""
    raw = body.encode() if isinstance(body, str) else body
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, header = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                             lower.get("webhook-signature"))
    if not (msg_id and stamp and header):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or "
                                       "webhook-signature header")
    keys = list(public_keys)
    if secret is None and not keys:
        raise WebhookVerificationError("give the endpoint secret or the service's public keys")
    _check_timestamp(stamp, time.time() if now is None else now, tolerance)
    content = f"{msg_id}.{stamp}.".encode() + raw
    for item in header.split():
        version, _, value = item.partition(",")
        try:
            signature = _b64(value)
        except ValueError:
            continue
        if version == "v1" and secret is not None and _v1_matches(secret, content, signature):
            return json.loads(raw)
        if version == "v1a" and any(_v1a_matches(k, content, signature) for k in keys):
            return json.loads(raw)
    raise WebhookVerificationError("no matching signature found")


def fetch_public_keys(url: str) -> list[str]:
    """The keys published at /.well-known/rights-relay/webhook-keys.json."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("the keys URL must be http(s)")
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (scheme checked)
        doc = json.load(resp)
    return [k["public_key"] for k in doc["keys"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Rights Relay webhook.")
    parser.add_argument("--headers", required=True,
                        help="JSON file with the request headers (an object)")
    parser.add_argument("--body", required=True, help="file with the raw request body")
    parser.add_argument("--secret", help="the endpoint's whsec_ secret (v1)")
    parser.add_argument("--public-key", action="append", default=[],
                        help="a whpk_ public key (v1a); repeat for several")
    parser.add_argument("--keys-url", help="fetch the public keys from this URL (v1a)")
    parser.add_argument("--tolerance", type=int, default=TOLERANCE_SECONDS,
                        help="seconds of clock difference allowed (default 300)")
    args = parser.parse_args(argv)
    with open(args.headers) as f:
        headers = json.load(f)
    with open(args.body, "rb") as f:
        body = f.read()
    keys = list(args.public_key)
    if args.keys_url:
        keys += fetch_public_keys(args.keys_url)
    try:
        event = verify(body, headers, secret=args.secret, public_keys=keys,
                       tolerance=args.tolerance)
    except WebhookVerificationError as exc:
        print(f"NOT verified: {exc}", file=sys.stderr)
        return 1
    print(f"verified: {event.get('type')} {event.get('data', {}).get('event_id', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
