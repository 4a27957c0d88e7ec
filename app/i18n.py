"""Languages: gettext message catalogs (Babel), language negotiation, locale dates and numbers.

The texts live in app/locale/<lang>/LC_MESSAGES/messages.po; a language is available as soon as
its `.po` file exists. Catalogs are compiled when first used: a `.mo` file next to the `.po`
(`python -m app.i18n_catalogs compile`) is read when it is at least as new as its `.po`, otherwise
the `.po` is compiled in memory, so a fresh checkout needs no build step.

Two kinds of message ids coexist:
- keys such as "form.title" (the public pages' original texts; `t("form.title")` in templates,
  `translate(lang, "form.title")` in Python, `{name}` placeholders): en.po holds the English text;
- English text, `_("Sign out")` in templates (`%(name)s` placeholders, Jinja's newstyle
  gettext) and `gettext("...")` in Python: en.po may leave the translation empty.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from pydantic import AfterValidator, Field
from starlette.types import ASGIApp, Receive, Scope, Send

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "rr_lang"


def _discover() -> tuple[str, ...]:
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return ("en", *(lang for lang in found if lang != "en"))


LANGUAGES = _discover()
# Each language's name in itself, for the language switch.
NATIVE_NAMES = {lang: (Locale.parse(lang).get_display_name(lang) or lang).capitalize()
                for lang in LANGUAGES}

# Not used for new texts: other branches may still add entries here while the catalogs land;
# they are served as a last resort and tests/test_catalogs.py fails until
# `python -m app.i18n_catalogs import-dict` moves them into the .po files.
MESSAGES: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}


@cache
def catalog(lang: str) -> Translations:
    lang = lang if lang in LANGUAGES else "en"
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fp:
            translations = Translations(fp)
    else:
        with po.open("rb") as fp:
            parsed = read_po(fp, locale=lang)
        buffer = BytesIO()
        write_mo(buffer, parsed)  # untranslated entries are left out: the fallback answers
        buffer.seek(0)
        translations = Translations(buffer)
    if lang != "en":
        translations.add_fallback(catalog("en"))
    return translations


def has_message(key: str) -> bool:
    """Whether the English catalog (or the legacy dictionary) knows this key."""
    return key in catalog("en")._catalog or key in MESSAGES.get("en", {})



def translate(lang: str, key: str, **values: object) -> str:
    """A key-style message with `{name}` placeholders."""
    text = catalog(lang).gettext(key)
    if text == key:
        text = MESSAGES.get(lang, {}).get(key) or MESSAGES.get("en", {}).get(key) or key
    return text.format(**values) if values else text


# --- the language of what is being rendered ---------------------------------------------------

_current: contextvars.ContextVar[str] = contextvars.ContextVar("rr_language", default="en")


@contextlib.contextmanager
def use_language(lang: str) -> Iterator[str]:
    """Renders inside this block (pages, emails) speak `lang`."""
    lang = lang if lang in LANGUAGES else "en"
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def set_language(lang: str) -> None:
    """For the rest of this request (a signed-in user's or a re-user's preference): the
    middleware below resets it when the request ends."""
    if lang in LANGUAGES:
        _current.set(lang)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(catalog(_current.get()).pgettext(context, message))


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).npgettext(context, singular, plural, n)


def N_(message: str) -> str:
    """Marks a message for extraction where it is made (a dictionary, an exception shown on a
    page); it is translated where it is shown (`gettext(...)`, the `tr` filter)."""
    return message


def lazy_t(key: str, **values: object) -> str:
    return translate(_current.get(), key, **values)


# --- dates and numbers in the reader's language -----------------------------------------------


# The reader's time zone: a staff page is rendered in its organisation's zone (set by
# `use_zone` around the rendering); elsewhere UTC, unless a template names a zone.
_zone: contextvars.ContextVar[str | None] = contextvars.ContextVar("rr_zone", default=None)


@contextlib.contextmanager
def use_zone(zone: str | None) -> Iterator[None]:
    token = _zone.set(zone if zone and zone != "UTC" else None)
    try:
        yield
    finally:
        _zone.reset(token)


def format_date(value: date | datetime | None, fmt: str = "long", zone: str | None = None) -> str:
    """"3 January 2027" / "3 janvier 2027"; with `zone` (IANA), the day in that zone (a due date
    ends with a day of the organisation's zone, which in UTC may be the next day)."""
    if value is None:
        return "—"
    zone = zone or _zone.get()
    if zone and isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone))
    return dates.format_date(value, fmt, locale=_current.get())


def format_month(key: str, fmt: str = "MMM yyyy") -> str:
    """A month key ("2026-11") as its reader reads it: "Nov 2026" / "nov. 2026"."""
    try:
        first = date.fromisoformat(f"{key}-01")
    except ValueError:
        return key
    return dates.format_date(first, fmt, locale=_current.get())


def format_datetime(value: datetime | None, fmt: str = "long", zone: str | None = None) -> str:
    """"3 January 2027, 14:05 UTC": the stored times are UTC; with `zone`, in that zone and
    named after it ("3 January 2027, 23:59 Europe/Paris")."""
    if value is None:
        return "—"
    lang = _current.get()
    label = "UTC"
    zone = zone or _zone.get()
    if zone:
        value, label = value.astimezone(ZoneInfo(zone)), zone
    elif isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key != "UTC":
        label = value.tzinfo.key  # already in a zone (an email's due date, say): name it
    time = dates.format_time(value, "HH:mm", locale=lang)
    return f"{dates.format_date(value, fmt, locale=lang)}, {time} {label}"


def format_number(value: float | int | None) -> str:
    if value is None:
        return "—"
    return numbers.format_decimal(value, locale=_current.get())


def format_percent(value: float | None) -> str:
    if value is None:
        return "—"
    return numbers.format_percent(value, locale=_current.get())


def install(env: Any) -> None:
    """Give a Jinja environment `_`/`gettext`/`ngettext` (newstyle: `_("Hi %(name)s", name=x)`,
    autoescaped) and the date and number filters, all following `use_language`."""
    env.add_extension("jinja2.ext.i18n")
    # A `{% trans %}` block's line breaks and indentation are not part of its msgid.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext,
                                  npgettext=npgettext)
    env.filters.update(tr=gettext, format_date=format_date, format_datetime=format_datetime,
                       format_month=format_month,
                       format_number=format_number, format_percent=format_percent)
    env.globals.update(LANGUAGES=LANGUAGES, NATIVE_NAMES=NATIVE_NAMES)


# --- negotiation ------------------------------------------------------------------------------


def from_header(header: str) -> str | None:
    """The best of our languages in an Accept-Language header, or None."""
    best, best_q = None, 0.0
    for part in header.split(",")[:50]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        params = params.strip()
        try:
            q = float(params[2:]) if params.startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def negotiate(request: Request, default: str | None = None) -> str:
    """?lang= beats the cookie set by the switch, which beats Accept-Language."""
    explicit = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if explicit in LANGUAGES:
        return explicit
    if default in LANGUAGES:
        return default
    return from_header(request.headers.get("accept-language", "")) or "en"


class LanguageMiddleware:
    """Every request starts in the browser's language, so that flash messages and error pages
    made before a page is rendered are translated too; pages that know better (a signed-in
    user's preference, a subject's case) set it again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _current.set(negotiate(Request(scope)))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def _supported(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return value


# A language code of the API (staff users, subscribers): one of the catalogs' languages.
Language = Annotated[str, Field(min_length=2, max_length=8, json_schema_extra={
    "enum": list(LANGUAGES)}, description="language of pages and emails"),
    AfterValidator(_supported)]
