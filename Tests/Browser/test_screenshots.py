"""Fills the gateway with a realistic conversation over every channel, checks that all three panels
of the console show it, and saves the screenshots committed in docs/screenshots/."""

import re

from playwright.sync_api import expect

from conftest import SCREENSHOTS, sign_in, wait_for

ADA = "+15550980000"  # RCS-capable in Config/rcs-capabilities.json


def test_the_console_with_a_full_conversation(page, gateway):
    gateway.simulate("--channel", "webchat", "--text", "Are you open on Sunday?")
    gateway.simulate("--channel", "messenger", "--from", "7009008007006005", "--text", "Is the tandem still for sale?")
    gateway.simulate("--channel", "rcs", "--from", "+15550980042", "--text", "Can I change my rental to Saturday?")
    gateway.simulate("--channel", "sms", "--from", "+15550991234", "--text", "Do you rent e-bikes on weekends?")
    gateway.simulate("--channel", "messenger", "--from", "7001002003004005", "--text", "Hi from Messenger, it's Ada")
    gateway.simulate("--channel", "sms", "--from", ADA, "--text", "Hi, my bike's brakes are squeaking")
    gateway.simulate("--channel", "sms", "--from", ADA, "--text", "Ada")
    gateway.simulate("--channel", "sms", "--from", ADA, "--text", "1")
    gateway.simulate("--channel", "sms", "--from", ADA, "--text", "A-1001")
    gateway.simulate("--channel", "sms", "--from", ADA, "--text", "Here's a photo of the front brake",
                     "--media", gateway.media_url("front-brake.png"))
    ada = gateway.contact_by_phone(ADA)
    messenger = next(item for item in gateway.api("GET", "/contacts?channel=messenger")["items"]
                     if item.get("facebook", {}).get("psid") == "7001002003004005")
    gateway.api("POST", f"/contacts/{ada['id']}/merge", {"from": messenger["id"]}, expect=200)
    gateway.api("PATCH", f"/contacts/{ada['id']}", {"name": "Ada Lovelace"}, expect=200)
    gateway.api("PUT", f"/contacts/{ada['id']}/attributes/plan", {"value": "premium service"}, expect=200)
    gateway.api("PUT", f"/contacts/{ada['id']}/tags/vip", expect=200)
    gateway.api("POST", f"/contacts/{ada['id']}/messages", {
        "channel": "sms", "author": {"name": "Grace"},
        "content": {"text": "Thanks Ada! Squeaky brakes usually need new pads. Can you bring the bike in on Thursday?"}},
        expect=202)
    gateway.simulate("--channel", "rcs", "--from", ADA, "--text", "Thursday at 10 works for me")
    for query, name in [("%2B15550991234", "Omar Haddad"), ("%2B15550980042", "Lena Fischer")]:
        other = gateway.api("GET", f"/contacts?query={query}")["items"][0]
        gateway.api("PATCH", f"/contacts/{other['id']}", {"name": name}, expect=200)
    maya = next(item for item in gateway.api("GET", "/contacts?channel=messenger")["items"]
                if item.get("facebook", {}).get("psid") == "7009008007006005")
    gateway.api("PATCH", f"/contacts/{maya['id']}", {"name": "Maya Chen"}, expect=200)

    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{ada['id']}'] button").click()
    trail = page.locator("#message-list")
    expect(trail).to_contain_text("Thursday at 10 works for me")
    # The MMS picture is the gateway's copy (fetched in the background), loaded with the token.
    wait_for(lambda: any(attachment.get("fetch") == "stored"
                         for message in gateway.api("GET", f"/contacts/{ada['id']}/messages?limit=50")["items"]
                         for attachment in message["content"].get("attachments", [])),
             message="the MMS picture copied")
    picture = trail.locator("img[data-media-id]")
    expect(picture).to_be_visible()
    page.wait_for_function("() => { const img = document.querySelector('#message-list img[data-media-id]'); return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'); }")
    expect(trail.locator(".chip").filter(has_text="Yes")).to_have_count(1)
    expect(trail.locator(".author.bot").first).to_be_visible()
    expect(trail.locator(".author.agent")).to_contain_text("Grace")
    panel = page.locator("#panel")
    expect(panel.locator("#panel-name")).to_have_text("Ada Lovelace")
    expect(panel.locator(".feature-list li").first).to_be_visible()
    expect(panel.locator("#facebook-body")).to_contain_text("7001002003004005")
    expect(panel.locator("#channel-list li.in-use")).to_contain_text("RCS")
    expect(panel.get_by_label("Value of order_id")).to_have_value("A-1001")
    expect(panel.locator("#tag-list")).to_contain_text("has-order")
    wait_for(lambda: page.locator("#contact-list li").count() == 5, message="the contacts list")
    # The simulator's delivery callbacks have moved the agent's reply along before the picture.
    try:
        expect(trail.locator("li.outbound .status").last).to_have_attribute("title", re.compile("delivered|read"), timeout=15000)
    except AssertionError:
        print(gateway.diagnosis(ada["id"]))
        raise
    page.mouse.move(0, 0)
    page.screenshot(path=str(SCREENSHOTS / "console.png"))

    page.set_viewport_size({"width": 420, "height": 900})
    expect(page.locator("#contacts")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "console-narrow.png"), full_page=True)
