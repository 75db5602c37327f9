"""The console's Broadcasts view: pick a tag, write the message, send; the counts follow the
messages (one sent, one skipped as unsubscribed), and the fake Twilio API has exactly one SMS."""

from playwright.sync_api import expect

from conftest import SCREENSHOTS, sign_in, wait_for


def test_a_broadcast_from_the_console_reaches_the_tag_and_counts_the_skipped(page, gateway):
    reached, stopped, untagged = "+15550109001", "+15550109002", "+15550109003"
    for phone in (reached, stopped, untagged):
        gateway.simulate("--channel", "sms", "--from", phone, "--text", "hello")
    ids = {phone: gateway.contact_by_phone(phone)["id"] for phone in (reached, stopped, untagged)}
    for phone in (reached, stopped):
        gateway.api("PUT", f"/contacts/{ids[phone]}/tags/spring", expect=200)
    gateway.api("PUT", f"/contacts/{ids[stopped]}/subscriptions/sms", {"subscribed": False}, expect=200)

    sign_in(page, gateway)
    page.get_by_role("button", name="Broadcasts").click()
    expect(page.get_by_role("button", name="Broadcasts")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#contact-list")).to_be_hidden()
    # Nothing picked: the form says what is missing.
    page.get_by_role("button", name="Send broadcast").click()
    expect(page.locator("#broadcast-error")).to_have_text("Pick at least one tag.")
    page.get_by_role("checkbox", name="spring").check()
    expect(page.locator("#broadcast-tags")).to_contain_text("spring (2)")
    page.get_by_label("Broadcast through").select_option("sms")
    page.get_by_label("Broadcast message").fill("Spring sale: 20% off today only")
    page.get_by_role("button", name="Send broadcast").click()
    expect(page.locator("#broadcast-status")).to_have_text("Broadcast to 2 contacts started.")

    row = page.locator("#broadcast-list li.broadcast").first
    expect(row).to_contain_text("Spring sale: 20% off today only")
    expect(row).to_have_attribute("data-status", "completed", timeout=15000)
    expect(row.locator("[data-count=skipped] dd")).to_have_text("1")
    expect(row.locator(".skipped")).to_have_text("Skipped: 1 unsubscribed")
    expect(row.locator("[data-count=failed] dd")).to_have_text("0")
    # The one message moves on to delivered or read as the simulator's callbacks arrive.
    expect(row.locator("[data-count=queued] dd")).to_have_text("0")
    wait_for(lambda: sum(int(row.locator(f"[data-count={name}] dd").inner_text()) for name in ("sent", "delivered", "read")) == 1,
             message="one message counted as sent, delivered or read")
    sms = [r for r in gateway.provider_requests("twilio")
           if dict(r.get("form") or []).get("Body") == "Spring sale: 20% off today only"]
    assert [dict(r["form"])["To"] for r in sms] == [reached]
    page.screenshot(path=str(SCREENSHOTS / "console-broadcasts.png"))

    # Back to the conversations: the broadcast is in the reached contact's trail.
    page.get_by_role("button", name="Conversations").click()
    page.locator(f"#contact-list li[data-id='{ids[reached]}'] button").click()
    expect(page.locator("#message-list")).to_contain_text("Spring sale: 20% off today only")
