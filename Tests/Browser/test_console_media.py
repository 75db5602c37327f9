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


def test_an_inbound_picture_is_read_once_with_the_token_and_released_with_its_trail(page, gateway):
    phone = "+15550104002"
    gateway.simulate("--channel", "sms", "--from", phone, "--text", "the crack is here", "--media", gateway.media_url("frame.png"))
    contact = gateway.contact_by_phone(phone)
    wait_for(lambda: any(attachment.get("fetch") == "stored"
                         for message in gateway.api("GET", f"/contacts/{contact['id']}/messages")["items"]
                         for attachment in message["content"].get("attachments", [])),
             message="the MMS picture copied")
    reads = []
    page.on("request", lambda request: reads.append(request.url) if "/api/v1/media/" in request.url else None)
    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{contact['id']}'] button").click()
    picture = page.locator("#message-list img[data-media-id]")
    expect(picture).to_have_count(1)
    page.wait_for_function("() => { const img = document.querySelector('#message-list img[data-media-id]'); return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'); }")
    source = picture.get_attribute("src")
    # (Read as an image: the console's content policy allows blob: pictures, not fetches.)
    reads_as_image = "(url) => new Promise((done) => { const img = new Image(); img.onload = () => done('read'); img.onerror = () => done('released'); img.src = url; })"
    assert page.evaluate(reads_as_image, source) == "read"
    assert len(reads) == 1, reads

    # Another conversation: the picture's blob: URL is released (it no longer reads).
    gateway.simulate("--channel", "sms", "--from", "+15550104003", "--text", "another conversation")
    other = gateway.contact_by_phone("+15550104003")
    page.locator(f"#contact-list li[data-id='{other['id']}'] button").click()
    expect(page.locator("#message-list")).to_contain_text("another conversation")
    assert page.evaluate(reads_as_image, source) == "released"


def test_a_messenger_reaction_shows_live_on_the_message_and_goes_when_taken_back(page, gateway):
    psid = "7001112223334445"
    gateway.simulate("--channel", "messenger", "--from", psid, "--text", "Is the red bike still there?")
    contact = next(item for item in gateway.api("GET", "/contacts?channel=messenger")["items"]
                   if item.get("facebook", {}).get("psid") == psid)
    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{contact['id']}'] button").click()
    expect(page.locator("#message-list")).to_contain_text("Is the red bike still there?")
    reply = gateway.api("POST", f"/contacts/{contact['id']}/messages",
                        {"channel": "messenger", "content": {"text": "It is, until Friday."}}, expect=202)
    sent = wait_for(lambda: next((message for message in gateway.api("GET", f"/contacts/{contact['id']}/messages")["items"]
                                  if message["id"] == reply["id"] and message.get("providerMessageId")), None),
                    message="the reply accepted by the fake Send API")
    badge = page.locator(f"#message-{reply['id']} .reaction")
    expect(badge).to_have_count(0)

    gateway.simulate("--channel", "messenger", "--from", psid, "--react-to", sent["providerMessageId"], "--reaction", "😮")
    expect(badge).to_have_text("😮")
    expect(badge).to_have_attribute("title", "Reaction: wow")
    assert gateway.api("GET", f"/messages/{reply['id']}")["reaction"]["emoji"] == "😮"
    # Another contact cannot react to this contact's message.
    gateway.simulate("--channel", "messenger", "--from", "7009990001112223", "--text", "hello")
    gateway.simulate("--channel", "messenger", "--from", "7009990001112223", "--react-to", sent["providerMessageId"], "--reaction", "😠")
    expect(badge).to_have_text("😮")

    gateway.simulate("--channel", "messenger", "--from", psid, "--react-to", sent["providerMessageId"], "--reaction", "none")
    expect(badge).to_have_count(0)
