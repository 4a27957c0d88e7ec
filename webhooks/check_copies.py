#!/usr/bin/env python3
"""Check your local copies of models against Rights Relay: are they the current version, or
were they superseded or withdrawn (after a data-protection fix, say) and must be replaced?
Copy this file; it needs only the Python standard library. Run it in CI or from cron.

    python check_copies.py --url https://rights.example.org ./models/
    python check_copies.py --url https://rights.example.org --json model.safetensors

It streams SHA-256 over each model file (.safetensors, .gguf, .bin, .pt, .pth; in folders,
recursively; files of tens of GB are read in chunks, with progress on stderr), asks the
service which model and version each digest belongs to (`POST /v1/public/digests`, in
batches; only digests leave your machine), and prints a table, or JSON with --json.

Exit status:
  0  every file is a current version
  1  at least one file must be replaced or deleted (superseded or withdrawn)
  3  no file must be replaced, but some are unknown to the service (an unknown file is never
     reported as fine: it could not be checked; --allow-unknown makes this 0)
  4  the service could not be asked
  2  wrong usage
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

EXTENSIONS = (".safetensors", ".gguf", ".bin", ".pt", ".pth")
CHUNK = 8 * 1024 * 1024
BATCH = 500
EXIT_OK, EXIT_REPLACE, EXIT_USAGE, EXIT_UNKNOWN, EXIT_SERVICE = 0, 1, 2, 3, 4
# The worst state wins among versions sharing a digest only when none of them is current:
# bytes identical to a current version's file are a current copy.
ORDER = {"current": 0, "unknown": 1, "superseded": 2, "withdrawn": 3}


@dataclass
class Copy:
    path: str
    size: int
    sha256: str = ""
    status: str = "unknown"
    matches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verdict(self) -> dict[str, Any] | None:
        """The match that decides: a current one if any, else the one asking most."""
        if not self.matches:
            return None
        return min(self.matches, key=lambda m: (m["status"] != "current",
                                                -ORDER.get(m["status"], 1)))


def find_files(paths: list[str], all_files: bool) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if all_files or name.lower().endswith(EXTENSIONS):
                        yield os.path.join(root, name)
        elif os.path.isfile(path):
            yield path
        else:
            raise FileNotFoundError(path)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"


def sha256_of(path: str, size: int, progress: bool, chunk: int = CHUNK) -> str:
    """SHA-256 of the file, read `chunk` bytes at a time (memory stays flat whatever the
    size), reporting progress at most twice a second."""
    digest = hashlib.sha256()
    done, last = 0, 0.0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
            done += len(block)
            now = time.monotonic()
            if progress and (now - last >= 0.5 or done == size):
                last = now
                pct = 100 * done / size if size else 100
                print(f"\rhashing {path}: {pct:5.1f}% ({_size(done)} of {_size(size)})",
                      end="", file=sys.stderr, flush=True)
    if progress:
        print(f"\rhashing {path}: done ({_size(size)})" + " " * 20, file=sys.stderr)
    return digest.hexdigest()


def lookup(base_url: str, digests: list[str], timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Ask the service about the digests, `BATCH` at a time."""
    if not base_url.startswith(("https://", "http://")):
        raise ValueError("--url must start with https:// or http://")
    found: dict[str, list[dict[str, Any]]] = {}
    unique = list(dict.fromkeys(digests))
    for start in range(0, len(unique), BATCH):
        body = json.dumps({"sha256": unique[start:start + BATCH]}).encode()
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            base_url.rstrip("/") + "/v1/public/digests", data=body, method="POST",
            headers={"content-type": "application/json", "accept": "application/json",
                     "user-agent": "rights-relay-check-copies/1"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (checked)
            for result in json.load(resp)["results"]:
                found[result["sha256"]] = result["matches"]
    return found


def classify(copies: list[Copy], found: dict[str, list[dict[str, Any]]]) -> None:
    for c in copies:
        c.matches = found.get(c.sha256, [])
        verdict = c.verdict
        c.status = verdict["status"] if verdict else "unknown"


def exit_code(copies: list[Copy], allow_unknown: bool) -> int:
    if any(c.status in ("superseded", "withdrawn") for c in copies):
        return EXIT_REPLACE
    if any(c.status == "unknown" for c in copies) and not allow_unknown:
        return EXIT_UNKNOWN
    return EXIT_OK


def _what_to_do(c: Copy) -> str:
    v = c.verdict
    if v is None:
        return "not a released file of any model here: cannot be checked"
    if c.status == "current":
        return "none"
    deadline = f" before {v['deadline_at'][:10]}" if v.get("deadline_at") else ""
    if v.get("replacement"):
        r = v["replacement"]
        return f"replace with {r['label']} ({r['revision']}){deadline}"
    return f"delete{deadline}"


def table(copies: list[Copy]) -> str:
    rows = [("FILE", "STATUS", "MODEL", "VERSION", "ACTION")]
    for c in copies:
        v = c.verdict
        rows.append((c.path, c.status.upper() if c.status != "current" else "current",
                     v["model"] if v else "-", f"{v['label']} ({v['revision']})" if v else "-",
                     _what_to_do(c)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(r))
             for r in rows]
    counts = {s: sum(c.status == s for c in copies) for s in ORDER}
    lines.append("")
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no model file found")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check local model files against Rights Relay.")
    parser.add_argument("paths", nargs="+", help="model files or folders")
    parser.add_argument("--url", required=True, help="the Rights Relay service, https://...")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--all-files", action="store_true",
                        help="in folders, hash every file, not only model files")
    parser.add_argument("--allow-unknown", action="store_true",
                        help="exit 0 even if some files are unknown to the service")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--chunk-mib", type=int, default=CHUNK // (1024 * 1024),
                        help="read files this many MiB at a time (default 8)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per request")
    args = parser.parse_args(argv)
    if args.chunk_mib < 1:
        parser.error("--chunk-mib must be at least 1")
    try:
        copies = [Copy(p, os.path.getsize(p)) for p in find_files(args.paths, args.all_files)]
    except FileNotFoundError as exc:
        parser.error(f"no such file or folder: {exc}")
    for c in copies:
        c.sha256 = sha256_of(c.path, c.size, not args.quiet, args.chunk_mib * 1024 * 1024)
    try:
        found = lookup(args.url, [c.sha256 for c in copies], args.timeout) if copies else {}
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        print(f"error: could not ask {args.url}: {exc}", file=sys.stderr)
        return EXIT_SERVICE
    classify(copies, found)
    code = exit_code(copies, args.allow_unknown)
    if args.json:
        print(json.dumps({"files": [{"path": c.path, "size": c.size, "sha256": c.sha256,
                                     "status": c.status, "action": _what_to_do(c),
                                     "matches": c.matches} for c in copies],
                          "exit_code": code}, indent=2))
    else:
        print(table(copies))
    return code


if __name__ == "__main__":
    sys.exit(main())
