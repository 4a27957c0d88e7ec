"""Convert an email written before the catalogs, `templates/en/<kind>.txt` + `templates/fr/<kind>.txt`,
into one `templates/<kind>.txt` whose paragraphs are `{% trans %}` blocks, and put both texts in
the catalogs (`python -m app.i18n_catalogs import-email KIND [GIT-REF]`).

The two templates must have the same skeleton (the same `{% %}` tags, the same number of
paragraphs): the paragraphs are paired in order. Anything else stops with a message, and the
pair is then converted by hand as the README says."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from app.emails.service import TEMPLATES

TAG = re.compile(r"({%.*?%})", re.S)
EXPR = re.compile(r"{{\s*(.*?)\s*}}", re.S)
LETTERS = re.compile(r"[^\W\d_]{2,}")
# Dates written by hand become dates in the reader's language.
DATETIME = re.compile(r"([a-z_][\w.]*)\.strftime\(\"[^\"]*%H:%M[^\"]*\"\)(\s*}}\s*UTC)?")
DATE = re.compile(r"([a-z_][\w.]*)\.strftime\(\"[^\"]*\"\)")


class CannotConvert(Exception):
    pass


def _source(lang: str, kind: str, ref: str | None, root: Path, templates: Path) -> str:
    path = templates / lang / f"{kind}.txt"
    if ref is None:
        return path.read_text()
    name = path.relative_to(root).as_posix()
    return subprocess.run(["git", "-C", str(root), "show", f"{ref}:{name}"],  # noqa: S603,S607
                          check=True, capture_output=True, text=True).stdout


def _pieces(source: str) -> list[tuple[str, str]]:
    """("tag" | "raw" | "text", piece), in order; "text" pieces are the translatable paragraphs."""
    source = DATETIME.sub(lambda m: f"{m.group(1)}|format_datetime" + (" }}" if m.group(2) else ""),
                          source)
    source = DATE.sub(r"\1|format_date", source)
    first, _, rest = source.partition("\n")
    if not first.startswith("Subject: "):
        raise CannotConvert("the first line is not 'Subject: ...'")
    out: list[tuple[str, str]] = [("raw", "Subject: ")]
    for part, end in ((first[len("Subject: "):], "\n"), (rest, "")):
        for chunk in TAG.split(part):
            if TAG.fullmatch(chunk):
                out.append(("tag", chunk))
                continue
            for para in re.split(r"(\n[ \t]*\n)", chunk):
                core = para.strip()
                if not LETTERS.search(EXPR.sub("", core)) or core == "Rights Relay":
                    out.append(("raw", para))
                    continue
                lead, trail = para[:len(para) - len(para.lstrip())], para[len(para.rstrip()):]
                out += [("raw", lead), ("text", core), ("raw", trail)]
        out.append(("raw", end))
    return out


def _names(core: str) -> dict[str, str]:
    """Each `{{ expression }}` of a paragraph and the name it gets in the trans block."""
    names: dict[str, str] = {}
    for expr in EXPR.findall(core):
        if expr in names:
            continue
        # `c.due_at|format_date` is bound as `due_at`, `c.reference` as `reference`.
        base = re.findall(r"[a-z_]\w*", expr.split("|")[0].strip().split(" ")[0])
        name = base[-1] if base else "value"
        while name in names.values():
            name += "_"
        names[expr] = name
    return names


def _msg(core: str, names: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            raise CannotConvert(f"the French paragraph uses {{{{ {m.group(1)} }}}}, the English "
                                "one does not")
        return f"%({names[m.group(1)]})s"
    text = EXPR.sub(sub, core.replace("%", "%%"))
    return re.sub(r"\s*\n\s*", " ", text.strip())  # as Jinja's trimmed trans blocks read it


def _bound(names: dict[str, str]) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{{{{ {names[m.group(1)]} }}}}"


def convert(kind: str, ref: str | None, root: Path,
            templates: Path = TEMPLATES) -> tuple[str, dict[str, str]]:
    """The new template and {English msgid: French text}."""
    en, fr = (_pieces(_source(lang, kind, ref, root, templates)) for lang in ("en", "fr"))
    if [p for p in en if p[0] == "tag"] != [p for p in fr if p[0] == "tag"]:
        raise CannotConvert("the English and French templates do not have the same {% %} tags")
    fr_texts = [p[1] for p in fr if p[0] == "text"]
    if len(fr_texts) != sum(1 for p in en if p[0] == "text"):
        raise CannotConvert("the English and French templates do not have as many paragraphs")
    out, pairs, i = [], {}, 0
    for what, piece in en:
        if what != "text":
            out.append(piece)
            continue
        names = _names(piece)
        msgid = _msg(piece, names)
        pairs[msgid] = _msg(fr_texts[i], names)
        i += 1
        binds = ", ".join(f"{n}={e}" for e, n in names.items() if n != e)
        body = EXPR.sub(_bound(names), piece)
        out.append(f"{{% trans {binds} %}}{body}{{% endtrans %}}".replace("{% trans  %}",
                                                                          "{% trans %}"))
    return "".join(out), pairs
