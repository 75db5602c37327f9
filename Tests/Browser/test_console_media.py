"""An agent attaches a file in the console: the gateway keeps it, the reply carries its signed URL to
the fake Twilio as MediaUrl, and that URL serves the very bytes attached. A file the gateway does
not keep is refused in the composer, and nothing is left in the media directory."""

import base64
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from conftest import sign_in, wait_for

# A 1x1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def media_files(gateway):
    root = Path(gateway.work) / "media"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_an_agent_attaches_a_picture_and_twilio_gets_it(page, gateway):
    gateway.simulate("--channel", "sms", "--from", "+15550104001", "--text", "can you send the receipt?")
    sign_in(page, gateway)
    page.locator("#contact-list li").first.get_by_role("button").click()
    expect(page.locator("#message-list")).to_contain_text("can you send the receipt?")

    # A file the gateway does not keep: refused in the composer, nothing kept, nothing sent.
    page.locator("#composer-file").set_input_files(
        files=[{"name": "receipt.html", "mimeType": "text/html", "buffer": b"<script>alert(1)</script>"}])
    expect(page.locator("#composer-file-name")).to_contain_text("receipt.html")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("text/html is not a media type the gateway keeps")
    # A picture whose contents are not a picture: refused too.
    page.locator("#composer-file").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": b"<html>not a picture</html>"}])
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("not image/png")
    assert media_files(gateway) == []

    before = len(gateway.provider_requests("twilio"))
    page.locator("#composer-file").set_input_files(files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}])
    # Previewed before anything is uploaded.
    expect(page.locator("#composer-preview")).to_be_visible()
    page.wait_for_function("() => { const img = document.getElementById('composer-preview'); return img.complete && img.naturalWidth === 1; }")
    assert media_files(gateway) == []
    page.locator("#composer-text").fill("Here is your receipt")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_have_text("")
    expect(page.locator("#composer-attachment")).to_be_hidden()
    expect(page.locator("#composer-preview")).to_be_hidden()
    # The trail shows the picture the agent sent, loaded from the gateway's signed URL.
    image = page.locator("#message-list .message.outbound img").last
    expect(image).to_have_attribute("alt", "receipt.png")
    page.wait_for_function("() => { const img = [...document.querySelectorAll('#message-list .outbound img')].pop(); return img && img.complete && img.naturalWidth === 1; }")

    sent = wait_for(lambda: [request for request in gateway.provider_requests("twilio")[before:]
                             if any(pair[0] == "MediaUrl" for pair in request.get("form") or [])],
                    message="the MMS at the fake Twilio")
    form = dict(map(tuple, sent[0]["form"]))
    assert form["Body"] == "Here is your receipt"
    assert form["MediaUrl"].startswith(gateway.url + "/media/med_")
    with urllib.request.urlopen(form["MediaUrl"]) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.read() == PNG
    assert len(media_files(gateway)) == 2  # the picture and what it is
