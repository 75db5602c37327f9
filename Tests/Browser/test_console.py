"""The console against a live gateway: live contact list, agent replies reaching the fake Twilio
API, and every edit of the contact panel visible through the REST API afterwards."""

import json
import re
import urllib.request

from playwright.sync_api import expect

from conftest import TOKEN, sign_in, wait_for


def test_sign_in_refuses_a_wrong_token(page, gateway):
    page.goto(gateway.url + "/")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_have_text("The gateway refused that token.")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live")).to_have_text("Live")
    # The token is kept for the tab: a reload stays signed in.
    page.reload()
    expect(page.locator("#live")).to_have_text("Live")


def test_an_inbound_sms_appears_live_and_moves_its_contact_to_the_top(page, gateway):
    gateway.simulate("--channel", "sms", "--from", "+15550101001", "--text", "first")
    sign_in(page, gateway)
    contacts = page.locator("#contact-list li")
    expect(contacts.first).to_contain_text("+15550101001")
    # A new contact writes: it appears on top without a reload.
    gateway.simulate("--channel", "sms", "--from", "+15550101002", "--text", "hello from a new number")
    expect(contacts.first).to_contain_text("+15550101002")
    expect(contacts.first.locator("svg[aria-label='SMS']")).to_have_count(1)
    # The older contact writes again: it moves back to the top.
    gateway.simulate("--channel", "sms", "--from", "+15550101001", "--text", "me again")
    expect(contacts.first).to_contain_text("+15550101001")
    expect(contacts.nth(1)).to_contain_text("+15550101002")
    # The open trail grows live too.
    contacts.first.get_by_role("button").click()
    expect(page.locator("#message-list")).to_contain_text("me again")
    gateway.simulate("--channel", "sms", "--from", "+15550101001", "--text", "and a third one")
    expect(page.locator("#message-list > li.inbound").last).to_contain_text("and a third one")


def test_the_list_misses_nothing_across_a_dropped_event_stream(page, gateway):
    gateway.simulate("--channel", "sms", "--from", "+15550101101", "--text", "before the restart")
    sign_in(page, gateway)
    contacts = page.locator("#contact-list li")
    expect(contacts.first).to_contain_text("+15550101101")
    # The gateway restarts: the stream drops, and a message arrives right after, perhaps before the
    # console has reconnected; once live again, the list has it on top.
    gateway.restart()
    gateway.simulate("--channel", "sms", "--from", "+15550101102", "--text", "right after the restart")
    # (The browser waits seconds before it reconnects, so this message's event went to no one:
    # only the refetch on reconnecting can bring it.)
    expect(page.locator("#live")).to_have_text("Reconnecting…")
    expect(page.locator("#live")).to_have_text("Live", timeout=20000)
    expect(contacts.first).to_contain_text("+15550101102", timeout=10000)


def test_an_agent_turns_the_bot_off_and_replies_through_twilio(page, gateway):
    phone = "+15550102001"
    gateway.simulate("--channel", "sms", "--from", phone, "--text", "I need a human")
    contact = gateway.contact_by_phone(phone)
    assert contact["botEnabled"] is True
    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{contact['id']}'] button").click()
    toggle = page.get_by_role("switch")
    expect(toggle).to_be_checked()
    toggle.click()
    expect(toggle).not_to_be_checked()
    wait_for(lambda: gateway.api("GET", f"/contacts/{contact['id']}")["botEnabled"] is False, message="bot off")

    expect(page.get_by_label("Send through")).to_have_value("sms")
    page.get_by_label("Your name").fill("Grace")
    page.get_by_label("Message", exact=True).fill("Hello, this is Grace from support.")
    page.get_by_role("button", name="Send").click()
    sent = wait_for(lambda: [r for r in gateway.provider_requests("twilio")
                             if dict(r.get("form") or []).get("Body") == "Hello, this is Grace from support."],
                    message="the reply at the fake Twilio API")
    assert dict(sent[0]["form"])["To"] == phone
    reply = page.locator("#message-list li.outbound").last
    expect(reply).to_contain_text("Agent: Grace")
    # The simulator's status callbacks move the ticks along: sent, delivered.
    expect(reply.locator(".status")).to_have_attribute("aria-label", re.compile(r"Status: (delivered|read)"), timeout=15000)

    # A reply Twilio refuses for good shows as failed, with Twilio's words on hover.
    request = urllib.request.Request(f"{gateway.simulator}/_simulator/faults", method="POST",
                                     data=json.dumps({"provider": "twilio", "status": 400, "errorCode": 21610}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5)
    page.get_by_label("Message", exact=True).fill("One more thing.")
    page.get_by_role("button", name="Send").click()
    failed = page.locator("#message-list li.outbound").filter(has_text="One more thing.")
    expect(failed.locator(".status")).to_have_attribute("title", re.compile("failed: Attempt to send to unsubscribed recipient"), timeout=15000)


def test_the_composer_shows_why_a_reply_is_refused(page, gateway):
    phone = "+15550103001"
    gateway.simulate("--channel", "sms", "--from", phone, "--text", "STOP")
    contact = gateway.contact_by_phone(phone)
    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{contact['id']}'] button").click()
    page.get_by_label("Message", exact=True).fill("Are you still there?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_contain_text("unsubscribed")


def test_panel_edits_are_visible_through_the_api(page, gateway):
    phone = "+15550104001"
    gateway.simulate("--channel", "sms", "--from", phone, "--text", "hello")
    contact = gateway.contact_by_phone(phone)
    cid = contact["id"]
    gateway.api("POST", "/tags", {"name": "wholesale"})
    gateway.api("POST", "/tags", {"name": "obsolete"})
    gateway.api("PUT", f"/contacts/{cid}/tags/obsolete", expect=200)
    sign_in(page, gateway)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#contact-list li[data-id='{cid}'] button").click()
    panel = page.locator("#panel")

    # Attributes: add, edit, delete.
    panel.get_by_label("Attribute name").fill("order_id")
    panel.get_by_label("Attribute value").fill("A-1001")
    panel.get_by_role("button", name="Add").click()
    expect(panel.get_by_label("Value of order_id")).to_have_value("A-1001")
    panel.get_by_label("Attribute name").fill("plan")
    panel.get_by_label("Attribute value").fill("basic")
    panel.get_by_role("button", name="Add").click()
    expect(panel.get_by_label("Value of plan")).to_have_value("basic")
    panel.get_by_label("Value of plan").fill("premium")
    # A live update while the agent types re-renders the panel but keeps the unsaved value.
    gateway.simulate("--channel", "sms", "--from", phone, "--text", "still there?")
    expect(page.locator("#message-list")).to_contain_text("still there?")
    expect(panel.get_by_label("Value of plan")).to_have_value("premium")
    panel.get_by_role("button", name="Save plan").click()
    panel.get_by_role("button", name="Delete order_id").click()
    expect(panel.get_by_label("Value of order_id")).to_have_count(0)
    wait_for(lambda: gateway.api("GET", f"/contacts/{cid}")["attributes"] == {"plan": "premium"}, message="attributes")

    # Tags: assign an existing one, create-and-assign, remove one, delete one from the catalogue.
    panel.get_by_label("Existing tag", exact=True).select_option("wholesale")
    panel.get_by_role("button", name="Assign", exact=True).click()
    expect(panel.locator("#tag-list li[data-tag='wholesale']")).to_have_count(1)
    panel.get_by_label("New tag", exact=True).fill("callback-requested")
    panel.get_by_role("button", name="Create and assign").click()
    expect(panel.locator("#tag-list li[data-tag='callback-requested']")).to_have_count(1)
    panel.get_by_role("button", name="Remove tag wholesale").click()
    expect(panel.locator("#tag-list li[data-tag='wholesale']")).to_have_count(0)
    panel.locator("details.catalogue summary").click()
    panel.get_by_role("button", name="Delete tag obsolete from every contact").click()
    expect(panel.locator("#tag-catalogue li[data-tag='obsolete']")).to_have_count(0)
    wait_for(lambda: gateway.api("GET", f"/contacts/{cid}")["tags"] == ["callback-requested"], message="tags")
    catalogue = {tag["name"] for tag in gateway.api("GET", "/tags")["items"]}
    assert "obsolete" not in catalogue and {"wholesale", "callback-requested"} <= catalogue

    # Subscriptions: unsubscribe, then subscribe again.
    panel.get_by_role("button", name="Unsubscribe from SMS").click()
    expect(panel.get_by_role("button", name="Subscribe to SMS")).to_be_visible()
    wait_for(lambda: gateway.api("GET", f"/contacts/{cid}")["subscriptions"]["sms"] is False, message="unsubscribed")
    panel.get_by_role("button", name="Subscribe to SMS").click()
    expect(panel.get_by_role("button", name="Unsubscribe from SMS")).to_be_visible()
    wait_for(lambda: gateway.api("GET", f"/contacts/{cid}")["subscriptions"]["sms"] is True, message="subscribed")

    # The channel in use is highlighted; the tag filter of the list finds the contact.
    expect(panel.locator("#channel-list li.in-use")).to_contain_text("SMS")
    page.get_by_label("Tag", exact=True).select_option("callback-requested")
    expect(page.locator("#contact-list li")).to_have_count(1)
    expect(page.locator("#contact-list li")).to_contain_text(phone)


def test_keyboard_reaches_contacts_and_the_composer(page, gateway):
    gateway.simulate("--channel", "sms", "--from", "+15550105001", "--text", "keyboard user here")
    sign_in(page, gateway)
    gateway.simulate("--channel", "sms", "--from", "+15550105002", "--text", "and another one")
    contacts = page.locator("#contact-list li")
    expect(contacts.first).to_contain_text("+15550105002")
    expect(contacts.nth(1)).to_contain_text("+15550105001")
    # Arrow keys move between contacts; Enter opens one.
    contacts.first.get_by_role("button").focus()
    page.keyboard.press("ArrowDown")
    expect(contacts.nth(1).get_by_role("button")).to_be_focused()
    page.keyboard.press("Home")
    expect(contacts.first.get_by_role("button")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#trail-title")).to_have_text("+15550105001")
    expect(page.locator("#composer")).to_be_visible()
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("typed with the keyboard")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#message-list li.outbound").last).to_contain_text("typed with the keyboard")


def test_older_messages_load_on_scroll(page, gateway):
    phone = "+15550106001"
    for index in range(40):
        gateway.simulate("--channel", "sms", "--from", phone, "--text", f"message number {index:02d}")
    contact = gateway.contact_by_phone(phone)
    gateway.api("PATCH", f"/contacts/{contact['id']}", {"botEnabled": False}, expect=200)
    sign_in(page, gateway)
    page.locator(f"#contact-list li[data-id='{contact['id']}'] button").click()
    expect(page.locator("#message-list")).to_contain_text("message number 39")
    expect(page.locator("#message-list")).not_to_contain_text("message number 00")
    for _ in range(5):
        page.locator("#messages").evaluate("element => element.scrollTop = 0")
        page.wait_for_timeout(300)
    expect(page.locator("#message-list")).to_contain_text("message number 00")
    # Each message once, oldest first.
    texts = page.locator("#message-list li.inbound .text").all_inner_texts()
    numbered = [text for text in texts if text.startswith("message number")]
    assert numbered == sorted(numbered) and len(numbered) == len(set(numbered)) == 40
