"""Maintain the message catalogs: `python -m app.i18n_catalogs COMMAND`.

  update                 extract the messages from the code and templates (babel.cfg) and add
                         the new ones, untranslated, to every .po; drop English-text entries
                         no longer used (key-style entries stay: keys may be built at run time)
  import-dict [SOURCE]   move MESSAGES-style entries (the old dictionary: {"en": {key: text},
                         "fr": {...}}) into the .po files. SOURCE is a Python file, a git ref
                         whose app/i18n.py is read (`import-dict issue-10`), or nothing for the
                         MESSAGES left in app/i18n.py. Existing translations are kept unless
                         --replace; differences are listed.
  import-email KIND [REF] turn templates/en/KIND.txt + templates/fr/KIND.txt (of the working
                         tree, or of a git ref) into templates/KIND.txt with `{% trans %}`
                         paragraphs, and their texts into the catalogs (app/i18n_emails.py)
  missing                list what each language lacks (the test in tests/test_catalogs.py)
  compile                write the .mo files (optional: the app compiles in memory otherwise)
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from app.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
# `t("key")` in templates, `translate(lang, "key")` in Python, the usual gettext names.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "t": None, "lazy_t": None,
    "translate": (2,),
}
KEY_STYLE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_FIXED_DATE = datetime(2026, 11, 30, tzinfo=UTC)  # headers do not change on every run


def is_key(msgid: str) -> bool:
    return bool(KEY_STYLE.match(msgid))


def msgid_of(entry_id: object) -> str:
    """A plural entry's id is the pair (singular, plural): the singular names it."""
    return str(entry_id[0] if isinstance(entry_id, tuple | list) else entry_id)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def languages() -> list[str]:
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return ["en", *(lang for lang in found if lang != "en")]


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="Rights Relay", version="1",
                       creation_date=_FIXED_DATE, revision_date=_FIXED_DATE, fuzzy=False)
    with path.open("rb") as fp:
        return read_po(fp, locale=lang)


def save(catalog: Catalog, lang: str) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.revision_date = _FIXED_DATE
    # Sorted, without source locations and without wrapping: one entry moves only when its
    # text changes, so branches that add messages merge without conflicts.
    with path.open("wb") as fp:
        write_po(fp, catalog, width=0, no_location=True, sort_output=True, omit_header=False,
                 ignore_obsolete=True)


def extracted() -> dict[str, str | tuple[str, ...]]:
    """msgid -> the message (a tuple for plurals), from everything babel.cfg names."""
    with (ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)  # type: ignore[no-untyped-call]
    found: dict[str, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=()):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, message)
    return found


def missing() -> dict[str, list[str]]:
    """For each language, the msgids that have no usable translation."""
    wanted = extracted()
    report: dict[str, list[str]] = {}
    for lang in languages():
        catalog = load(lang)
        gaps = []
        for msgid in sorted(wanted):
            entry = catalog.get(msgid)
            needs_text = lang != "en" or is_key(msgid)
            strings = entry.string if entry is not None else None
            empty = not strings or (isinstance(strings, tuple) and not all(strings))
            if entry is None or entry.fuzzy or (needs_text and empty):
                gaps.append(msgid)
        for entry in catalog:
            if entry.id and msgid_of(entry.id) not in wanted and not is_key(msgid_of(entry.id)):
                gaps.append(f"(unused) {msgid_of(entry.id)}")
        report[lang] = gaps
    return report


def update() -> None:
    wanted = extracted()
    for lang in languages():
        catalog = load(lang)
        for msgid, message in wanted.items():
            if catalog.get(msgid) is None:
                catalog.add(message, "" if isinstance(message, str) else ("",) * 2)
        for entry in list(catalog):
            if entry.id and msgid_of(entry.id) not in wanted and not is_key(msgid_of(entry.id)):
                catalog.delete(entry.id)
        save(catalog, lang)
        print(f"{lang}: {len(catalog)} messages")


def _read_dict(source: str | None) -> dict[str, dict[str, str]]:
    if source is None:
        from app.i18n import MESSAGES
        return MESSAGES
    path = Path(source)
    if not path.exists():  # a git ref: read that branch's app/i18n.py
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{source}:app/i18n.py"],  # noqa: S603,S607
                              check=True, capture_output=True, text=True).stdout
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as tmp:
            tmp.write(text)
        path = Path(tmp.name)
    found = runpy.run_path(str(path)).get("MESSAGES") or {}
    if not isinstance(found, dict):
        raise SystemExit(f"{source}: MESSAGES is not a dict")
    return found


def import_dict(source: str | None, replace: bool = False) -> list[str]:
    """Copy the entries into the catalogs; returns what was added or differs."""
    messages = _read_dict(source)
    notes: list[str] = []
    for lang, texts in messages.items():
        if not texts:
            continue
        catalog = load(lang)
        for key, text in texts.items():
            entry = catalog.get(key)
            if entry is None:
                catalog.add(key, text)
                notes.append(f"{lang} + {key}")
            elif not entry.string or entry.fuzzy:
                entry.string, entry.flags = text, entry.flags - {"fuzzy"}
                notes.append(f"{lang} + {key}")
            elif entry.string != text:
                if replace:
                    entry.string = text
                notes.append(f"{lang} {'replaced' if replace else 'differs (kept)'}: {key}")
        save(catalog, lang)
    return notes


def import_email(kind: str, ref: str | None) -> str:
    from app.emails.service import TEMPLATES
    from app.i18n_emails import convert

    template, pairs = convert(kind, ref, ROOT)
    (TEMPLATES / f"{kind}.txt").write_text(template)
    for lang in ("en", "fr"):
        (TEMPLATES / lang / f"{kind}.txt").unlink(missing_ok=True)
        if (TEMPLATES / lang).is_dir() and not any((TEMPLATES / lang).iterdir()):
            (TEMPLATES / lang).rmdir()
    english, french = load("en"), load("fr")
    for msgid, text in pairs.items():
        if english.get(msgid) is None:
            english.add(msgid, "")
        entry = french.get(msgid)
        if entry is None:
            french.add(msgid, text)
        elif not entry.string:
            entry.string = text
    save(english, "en")
    save(french, "fr")
    return f"templates/{kind}.txt written, {len(pairs)} paragraphs in the catalogs"


def compile_all() -> None:
    for lang in languages():
        catalog = load(lang)
        with po_path(lang).with_suffix(".mo").open("wb") as fp:
            write_mo(fp, catalog)
        print(f"{lang}: compiled")


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "update":
        update()
    elif command == "import-dict":
        replace = "--replace" in args
        rest = [a for a in args if a != "--replace"]
        _print(import_dict(rest[0] if rest else None, replace))
    elif command == "import-email" and args:
        print(import_email(args[0], args[1] if len(args) > 1 else None))
    elif command == "missing":
        report = missing()
        for lang, gaps in report.items():
            _print(f"{lang}: {gap}" for gap in gaps)
        return 1 if any(report.values()) else 0
    elif command == "compile":
        compile_all()
    else:
        print(__doc__)
        return 0 if command == "help" else 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
