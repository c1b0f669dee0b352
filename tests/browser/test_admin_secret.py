"""The admin creates an API token at the token form (issue 19): the secret appears there, in view, with a
copy button, not in a banner at the top of the page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def test_a_new_token_is_shown_beside_its_form_with_a_copy_button(live_server, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        sign_in(page, live_server, "admin")
        page.goto(live_server.url + "/dash/admin")
        page.get_by_label("Held by").fill("Norfolk MAIC")
        create = page.get_by_role("button", name="Create token (shown once)")
        create.click()
        box = page.locator(".copy-secret")
        expect(box).to_contain_text("Token", timeout=15_000)
        expect(box).to_be_in_viewport()
        expect(page.locator("#admin-message")).not_to_contain_text(box.locator("code").inner_text())
        secret = box.locator("code").inner_text()
        assert len(secret) > 20
        # it sits right under the button that made it
        below = page.evaluate("""() => { const b = [...document.querySelectorAll('button')].find(
                                  x => x.textContent.startsWith('Create token'));
                                  return document.querySelector('.copy-secret').getBoundingClientRect().top
                                         - b.getBoundingClientRect().bottom; }""")
        assert 0 <= below < 80
        box.get_by_role("button", name="Copy the secret").click()
        expect(box.get_by_role("button", name="Copy the secret")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        page.screenshot(path=str(screenshot(page, "admin-token").with_name("admin-token-screen.png")))
    finally:
        context.close()
