"""Every page in the reader's language, in a real browser (Debian's chromium via Playwright):
a subject, a provider's staff user and a re-user each walk their pages with a French browser
and then with an English one. Every page reached by following links must be in that language
(no untranslated English on a French page) and must not scroll sideways at 1280 or 390 px.
Staff users and re-users choose French on their own pages; the subject's pages follow the
browser."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from app.i18n_catalogs import is_key, load
from tests.casework import model_with_version
from tests.mail import body, link
from tests.propagation import subscribe
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SUBJECT = "camille.martin@example.fr"
REUSER = "equipe@aval.example"
# Words that are English and not French: one of them in a French page's text is a leftover.
ENGLISH_WORDS = {
    "the", "and", "your", "you", "with", "this", "that", "for", "are", "is", "has", "have",
    "not", "be", "by", "from", "it", "was", "will", "can", "must", "we", "our", "yet", "none",
    "of", "to", "what", "which", "who", "when", "where", "been", "their", "they", "please",
    "no", "at", "all", "any", "new", "only", "here", "sign", "email", "models", "status",
    "received", "open", "closed", "link", "save", "send", "yes", "there", "then",
}
SKIP_PATHS = ("/signout", "/docs", "/redoc", "/openapi.json", "/v1/", "/static/", "/metrics")
WIDTHS = (1280, 390)


class _Text(HTMLParser):
    """The page's readable text, without code, without what the page marks as another
    language (the language switch, a person's own words) and without what scripts hold."""

    SKIP = {"code", "pre", "script", "style", "textarea", "title"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang, self.stack, self.parts, self.links = lang, [], [], []
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for name in ("aria-label", "placeholder", "title", "alt"):
            if a.get(name) and not self._skipping(tag, a):
                self.parts.append(a[name])
        if tag not in self.VOID:
            self.stack.append(self._skipping(tag, a) or (self.stack[-1] if self.stack else False))

    def _skipping(self, tag, a) -> bool:
        other = a.get("lang") not in (None, self.lang)
        # translate="no": names and data, not text (time zone names, a probe's target kinds)
        return tag in self.SKIP or other or a.get("translate") == "no"

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def english_fragments() -> set[str]:
    """English texts of the catalog whose French differs, cut at their placeholders and markup:
    one of them on a French page is a text left untranslated."""
    english, french = load("en"), load("fr")
    out = set()
    for entry in english:
        if not entry.id or isinstance(entry.id, tuple):
            continue
        text = str(entry.string) if is_key(str(entry.id)) else str(entry.id)
        fr = french.get(entry.id)
        if not fr or fr.string == text:
            continue
        for piece in re.split(r"%\(\w+\)[sd]|\{\w+\}|<[^>]+>", text):
            piece = piece.strip(" .,:;()")
            if len(piece) >= 12 and " " in piece:
                out.add(piece)
    return out


@dataclass
class World:
    status_link: str
    manage_url: str
    ack_url: str
    reference: str


@pytest.fixture
def world(org_a, client, mailbox) -> World:
    """A French subject's request accepted and being fixed, a re-user told to act."""
    model = model_with_version(org_a)
    sub = subscribe(client, mailbox, models=[model], name="Aval SARL", email=REUSER)
    r = client.post("/v1/public/requests", json={
        "models": [model], "kind": "erasure", "name": "Camille Martin", "email": SUBJECT,
        "description": "Mon adresse apparaît dans les réponses du modèle.",
        "probe_prompts": ["Où habite Camille Martin ?"], "language": "fr"})
    assert r.status_code == 202, r.text
    token = link(mailbox.wait_for(SUBJECT, "Confirmez"), "confirm").rsplit("/", 1)[1]
    [case] = client.post("/v1/public/confirmations", json={"token": token}).json()["cases"]
    status_link = link(mailbox.wait_for(SUBJECT, "Accusé de réception"), "status")
    staff, pipeline = org_a.admin, org_a.client("pipeline")
    ref = case["reference"]
    assert staff.post(f"/v1/cases/{ref}/review", json={}).status_code == 200
    assert staff.post(f"/v1/cases/{ref}/decision", json={"outcome": "accept"}).status_code == 200
    r = staff.post("/v1/remediations", json={"model": model, "method": "unlearning",
                                             "cases": [ref]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "running", "progress": 40}).status_code == 200
    r = pipeline.post(f"/v1/remediations/{rid}/report", json={
        "status": "succeeded", "version": {"label": "v2", "revision": "rev-v2", "digests": [
            {"file": "model.safetensors", "sha256": "b" * 64}]}})
    assert r.status_code == 200, r.text
    found = re.search(r"https?://\S+/a/\S+", body(mailbox.wait_for(REUSER, "Action needed")))
    assert found, "no acknowledgement link"
    return World(status_link=status_link, manage_url=f"/s/manage/{sub.token}",
                 ack_url=found.group(0), reference=ref)


@pytest.fixture
def browser(world, server) -> Iterator[object]:
    """Set up after every fixture that runs asyncio (see test_browser_signin)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); "
                    "browser tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser, server, locale: str):
    context = browser.new_context(base_url=server.url, locale=locale,
                                  extra_http_headers={"accept-language": f"{locale},{locale[:2]}"},
                                  viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def crawl(page, server, lang: str, starts: list[str], limit: int = 60) -> dict[str, list[str]]:
    """Visit the start pages and every page they link to on this site; returns the problems
    found, by page."""
    fragments = english_fragments() if lang != "en" else set()
    queue, seen, problems = list(starts), set(), {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(urljoin(server.url + "/", url))
        key = path.path + ("?" + path.query if path.query else "")
        if key in seen:
            continue
        seen.add(key)
        response = page.goto(key)
        found: list[str] = []
        if response is None or response.status >= 500:
            found.append(f"status {response.status if response else 'none'}")
        parser = _Text(lang)
        parser.feed(page.content())
        if parser.html_lang != lang:
            found.append(f'<html lang="{parser.html_lang}">')
        text = " ".join(" ".join(parser.parts).split())
        if lang != "en":
            # Lower case or capitalised: "AT" in a reference like RR-9KH4-2AT0 is no word.
            words = {w.lower() for w in re.findall(r"[^\W\d_]+", text)
                     if not (w.isupper() and len(w) > 1)} & ENGLISH_WORDS
            for w in sorted(words):
                at = re.search(rf"(?i)\b{w}\b", text)
                found.append(f"English word {w!r} in …{text[max(0, at.start() - 60):at.end() + 60]}…"
                             if at else f"English word {w!r}")
            found += [f"untranslated {f!r}" for f in sorted(fragments) if f in text]
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate("document.documentElement.scrollWidth"
                                     " - document.documentElement.clientWidth")
            if overflow > 0:
                found.append(f"scrolls sideways by {overflow}px at {width}px")
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        if found:
            problems[key] = found
        for href in parser.links:
            target = urlsplit(urljoin(server.url + key, href))
            if target.netloc != urlsplit(server.url).netloc or "lang=" in target.query:
                continue
            if target.path.startswith(SKIP_PATHS):
                continue
            queue.append(target.path + ("?" + target.query if target.query else ""))
    assert len(seen) >= len(starts)
    return problems


def sign_in(page, org, lang: str) -> None:
    from playwright.sync_api import expect

    page.goto("/signin")
    labels = {"fr": ("E-mail", "Mot de passe", "Se connecter"),
              "en": ("Email", "Password", "Sign in")}[lang]
    page.get_by_label(labels[0], exact=True).fill(org.admin_email)
    page.get_by_label(labels[1]).fill(org.admin_password)
    page.get_by_role("button", name=labels[2]).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_reads_in_the_readers_language_and_fits_the_screen(
        lang, browser, server, world, org_a, mailbox):
    from playwright.sync_api import expect

    locale = {"fr": "fr-FR", "en": "en-GB"}[lang]
    problems: dict[str, list[str]] = {}

    # The subject: the home page follows the browser, and offers the other language.
    subject = new_page(browser, server, locale)
    subject.goto("/")
    expect(subject.locator("html")).to_have_attribute("lang", lang)
    other = {"fr": "English", "en": "Français"}[lang]
    expect(subject.get_by_role("link", name=other)).to_be_visible()
    # (The status page speaks the language the request was filed in, French, unless asked.)
    status = world.status_link + ("?lang=en" if lang == "en" else "")
    problems |= crawl(subject, server, lang, ["/", "/request", "/subscribe", status,
                                              "/models/acme/chat", "/no-such-page"])

    # Staff: sign in with the browser's language, choose the dashboard's on the security page.
    staff = new_page(browser, server, locale)
    sign_in(staff, org_a, lang)
    staff.goto("/dashboard/security")
    staff.get_by_role("combobox", name=re.compile("Language|Langue")).select_option(lang)
    staff.locator("form[action='/dashboard/security/language'] button").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(
        {"fr": "Sécurité", "en": "Security"}[lang])
    # The staff user's emails follow the same choice.
    org_a.admin.post(f"/v1/cases/{world.reference}/assignment",
                     json={"assignee": org_a.admin_email})
    mailbox.wait_for(org_a.admin_email, {"fr": "vous est attribué",
                                         "en": "is assigned to you"}[lang])
    problems |= crawl(staff, server, lang, [
        "/dashboard", f"/dashboard/cases/{world.reference}", "/dashboard/cases?status=open",
        "/dashboard/remediations/new?model=acme/chat", "/dashboard/cases/RR-0000-0000"])

    # The re-user: its management page and emails follow the language it chose there.
    reuser = new_page(browser, server, locale)
    reuser.goto(world.manage_url)
    reuser.get_by_role("combobox", name=re.compile("Language|Langue")).select_option(lang)
    reuser.locator("form:has(input[value='language']) button").click()
    expect(reuser.locator("#notice")).to_contain_text(
        {"fr": "Langue enregistrée", "en": "Language saved"}[lang])
    problems |= crawl(reuser, server, lang, [world.manage_url, world.ack_url,
                                             "/s/manage/rrs_not-a-valid-link"])

    assert not problems, "\n".join(f"{page}: {'; '.join(found)}"
                                   for page, found in problems.items())
