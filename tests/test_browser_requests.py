"""A person files requests in a real browser (Debian's chromium via Playwright), in French and
in English, follows the emailed confirmation link, reads the status page and withdraws."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.mail import link
from tests.subjects import PERSON, open_model, receipt_links
from tests.test_browser_signin import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture
def models(org_a, org_b):
    open_model(org_a, "acme/chat")
    open_model(org_b, "beta/vision")


@pytest.fixture
def browser_context(models, server, mailbox) -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); "
                    "browser tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, server, locale: str):
    context = browser.new_context(base_url=server.url, locale=locale,
                                  extra_http_headers={"accept-language": locale},
                                  java_script_enabled=False)
    context.set_default_timeout(15_000)
    return context.new_page()


def test_a_request_filed_in_french_is_confirmed_followed_and_withdrawn(browser_context, server,
                                                                       mailbox):
    from playwright.sync_api import expect

    page = new_page(browser_context, server, "fr-FR")
    page.goto("/request")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercer vos droits sur un modèle d'IA")

    # First a mistake: sent without choosing anything. The page explains, next to the fields.
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("alert")).to_contain_text("Veuillez corriger les champs signalés.")
    expect(page.locator("#models-error")).to_have_text("Choisissez au moins un modèle.")

    page.get_by_label("acme/chat").check()
    page.get_by_label("Effacement (article 17)").check()
    page.get_by_label("Votre nom").fill(PERSON["name"])
    page.get_by_label("Votre adresse e-mail").fill(PERSON["email"])
    page.get_by_label("Quelles données personnelles").fill(PERSON["description"])
    page.get_by_label("Questions qui amènent le modèle").fill(PERSON["probe_prompts"][0])
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez vos e-mails")

    confirm_url = link(mailbox.wait_for(PERSON["email"], "Confirmez"), "confirm")
    page.goto(confirm_url)
    page.get_by_role("button", name="Confirmer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre demande est confirmée")

    [(reference, status_url)] = receipt_links(mailbox).items()
    page.goto(status_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Demande {reference}")
    expect(page.locator("#state")).to_have_text("Reçue, en attente d'examen")
    expect(page.get_by_text("Nous avons reçu votre demande.")).to_be_visible()

    page.get_by_label("Je souhaite retirer cette demande").check()
    page.get_by_role("button", name="Retirer ma demande").click()
    expect(page.locator("#state")).to_have_text("Retirée")
    expect(page.get_by_text("Vous avez retiré votre demande.")).to_be_visible()
    mailbox.wait_for(PERSON["email"], reference)
    page.context.close()


def test_a_request_filed_in_english_with_the_keyboard_only(browser_context, server, mailbox):
    from playwright.sync_api import expect

    page = new_page(browser_context, server, "en-GB")
    page.goto("/request?lang=fr")
    page.get_by_role("link", name="English").click()  # the language switch
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Exercise your rights over an AI model")

    # Keyboard only: tab from the first model through the form.
    page.get_by_label("beta/vision").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Objection (Article 21)")).to_be_focused()
    page.keyboard.press("Space")
    # An objection asks for its basis (particular situation by default) and that situation.
    page.keyboard.press("Tab")
    expect(page.get_by_label("The use of my data, because of my particular situation")
           ).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("If you object: your particular situation")).to_be_focused()
    page.keyboard.type("I am a private person and the model repeats my address.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.keyboard.type(PERSON["name"])
    page.keyboard.press("Tab")
    page.keyboard.type(PERSON["email"])
    page.keyboard.press("Tab")
    page.keyboard.type(PERSON["description"])
    page.get_by_role("button", name="Send my request").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    page.goto(link(mailbox.wait_for(PERSON["email"], "Confirm your request"), "confirm"))
    page.get_by_role("button", name="Confirm my request").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your request is confirmed")
    page.get_by_role("link", name="Follow request").click()
    expect(page.locator("#state")).to_have_text("Received, waiting for review")
    expect(page.get_by_text("Objection (Article 21)")).to_be_visible()
    expect(page.get_by_text("beta/vision")).to_be_visible()

    page.get_by_label("I want to withdraw this request").check()
    page.get_by_role("button", name="Withdraw my request").click()
    expect(page.locator("#state")).to_have_text("Withdrawn")
    page.context.close()
