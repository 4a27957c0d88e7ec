"""The message catalogs are complete: every text the code and templates use is translated,
placeholders survive translation, and nothing is left in the pre-catalog layouts."""

from __future__ import annotations

import re

import pytest

from app import i18n, i18n_catalogs
from app.emails.service import TEMPLATES, render

PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def test_every_extracted_message_is_translated_in_every_language():
    report = i18n_catalogs.missing()
    assert set(report) == set(i18n.LANGUAGES) >= {"en", "fr"}
    gaps = {lang: gaps for lang, gaps in report.items() if gaps}
    assert not gaps, ("untranslated or unused catalog entries (run `python -m app.i18n_catalogs "
                      f"update`, then translate): {gaps}")


def test_translations_keep_the_placeholders_of_the_original():
    english = i18n_catalogs.load("en")
    for lang in i18n.LANGUAGES:
        for entry in i18n_catalogs.load(lang):
            if not entry.id or not entry.string:
                continue
            source = str(entry.id)
            if i18n_catalogs.is_key(source):  # key-style: compare with the English text
                source = str(english.get(source).string) if english.get(source) else ""
            wanted = set(PLACEHOLDER.findall(source))
            got = set(PLACEHOLDER.findall(str(entry.string)))
            assert got == wanted, (lang, entry.id)


def test_nothing_is_left_in_the_dictionary_or_in_per_language_email_templates():
    assert not any(i18n.MESSAGES.values()), \
        "run `python -m app.i18n_catalogs import-dict`, then empty MESSAGES in app/i18n.py"
    legacy = [p.name for p in TEMPLATES.iterdir() if p.is_dir()]
    assert not legacy, f"convert the per-language email templates in {legacy} (README: Languages)"


def test_an_email_reads_in_the_recipients_language_with_dates_in_words():
    from datetime import UTC, datetime
    due = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)
    context = {"name": "Ada", "title": "t", "text": "x", "link": "https://example.org/a",
               "deadline_at": due}
    subject, body = render("ack_reminder", "fr", context)
    assert subject == "Rappel : mettez à jour vos copies au plus tard le 3 janvier 2027"
    assert body.startswith("Bonjour Ada,")
    subject, body = render("ack_reminder", "en", context)
    assert subject == "Reminder: update your copies by January 3, 2027"
    assert render("ack_reminder", "xx", context)[0] == subject  # unknown: English


def test_an_email_pair_from_before_the_catalogs_converts_to_one_template(tmp_path):
    """`python -m app.i18n_catalogs import-email`: the lead's tool for branches that still
    write templates/en/x.txt + templates/fr/x.txt."""
    from jinja2 import Environment

    from app.i18n_emails import CannotConvert, convert
    for lang, text in (("en", "Subject: Request {{ reference }} moved\nHello,\n\nIt moved on "
                               "{{ moved_at.strftime(\"%Y-%m-%d\") }} for {{ c.name }}.\n"
                               "{% for m in models %}  - {{ m }}\n{% endfor %}\nRights Relay\n"),
                       ("fr", "Subject: La demande {{ reference }} a changé\nBonjour,\n\nPour "
                              "{{ c.name }}, elle a changé le {{ moved_at.strftime(\"%d/%m/%Y\") }}."
                              "\n{% for m in models %}  - {{ m }}\n{% endfor %}\nRights Relay\n")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "moved.txt").write_text(text)
    template, pairs = convert("moved", None, tmp_path, tmp_path)
    assert pairs == {
        "Request %(reference)s moved": "La demande %(reference)s a changé",
        "Hello,": "Bonjour,",
        "It moved on %(moved_at)s for %(name)s.": "Pour %(name)s, elle a changé le %(moved_at)s."}
    assert "{% trans moved_at=moved_at|format_date, name=c.name %}" in template
    assert "{% for m in models %}" in template
    Environment(extensions=["jinja2.ext.i18n"], autoescape=True).parse(template)  # valid Jinja

    (tmp_path / "fr" / "moved.txt").write_text("Subject: {{ reference }}\nBonjour {{ other }}\n")
    with pytest.raises(CannotConvert):
        convert("moved", None, tmp_path, tmp_path)
