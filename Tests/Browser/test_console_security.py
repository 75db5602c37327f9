"""What the console renders from stored data is checked where it is rendered: a `javascript:` URL
stored before the gateway checked URLs (or by any other path) never becomes a link or an image."""

import json
import sqlite3
import urllib.request

from playwright.sync_api import expect

from conftest import sign_in


def test_stored_script_urls_are_not_rendered_as_links(page, gateway):
    gateway.simulate("--channel", "sms", "--from", "+15550109901", "--text", "see attached")
    contact = gateway.contact_by_phone("+15550109901")
    content = {"text": "see attached", "attachments": [
        {"kind": "file", "url": "javascript:alert(document.domain)", "name": "invoice.pdf"},
        {"kind": "image", "url": "data:image/svg+xml,<svg onload=alert(1)>"},
    ]}
    with sqlite3.connect(gateway.work / "browser.sqlite", timeout=10) as database:
        database.execute("UPDATE messages SET content = ? WHERE contact_id = ?", (json.dumps(content), contact["id"]))
        database.execute("UPDATE contacts SET photo_url = 'javascript:alert(1)' WHERE id = ?", (contact["id"],))
    sign_in(page, gateway)
    page.locator("#contact-list li", has_text="+15550109901").get_by_role("button").click()
    trail = page.locator("#trail")
    expect(trail).to_contain_text("invoice.pdf (link not shown)")
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("img[src^='javascript'], img[src^='data:image/svg']").count() == 0


def test_pages_load_images_only_from_https_and_the_configured_provider_hosts(gateway):
    with urllib.request.urlopen(gateway.url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
    image_sources = next(part for part in policy.split(";") if part.strip().startswith("img-src")).split()[1:]
    assert "https:" in image_sources
    assert "http:" not in image_sources
    # The development gateway's simulator serves the sample media over plain http.
    assert gateway.simulator in image_sources
