"""The web-chat widget on its demo page: a visitor goes through the welcome flow (quick replies as
buttons) while an agent watches in the console; reloads and reconnects neither lose nor duplicate
messages."""

from playwright.sync_api import expect

from conftest import SCREENSHOTS, sign_in, wait_for

GREETING = "Hi! I'm the Switchboard assistant. What's your first name?"


def widget(page):
    return page.locator("#switchboard-webchat")


def conversation_texts(gateway, contact_id):
    items = gateway.api("GET", f"/contacts/{contact_id}/messages?limit=100", expect=200)["items"]
    return [(item["direction"], item["content"].get("text")) for item in items]


def test_a_visitor_chats_through_the_widget_while_the_console_watches(browser, page, gateway):
    sign_in(page, gateway)
    visitor_context = browser.new_context(viewport={"width": 1024, "height": 760}, locale="en-US")
    visitor = visitor_context.new_page()
    errors = []
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    visitor.goto(gateway.url + "/webchat/demo")
    chat = widget(visitor)
    chat.get_by_role("button", name="Open chat: Northwind Bikes").click()
    chat.get_by_label("Message").fill("hello")
    chat.get_by_role("button", name="Send").click()
    log = chat.get_by_role("log")
    expect(log).to_contain_text(GREETING)

    # The console shows the new web-chat contact on top, live, and its trail as it grows.
    contacts = page.locator("#contact-list li")
    expect(contacts.first.locator("svg[aria-label='Web chat']")).to_have_count(1)
    contacts.first.get_by_role("button").click()
    expect(page.locator("#message-list")).to_contain_text(GREETING)

    chat.get_by_label("Message").fill("Ada")
    chat.get_by_role("button", name="Send").click()
    expect(log).to_contain_text("Nice to meet you, Ada! Is this about an order?")
    # The flow's quick replies are buttons; tapping one sends its payload.
    answers = chat.get_by_role("group", name="Suggested answers")
    expect(answers.get_by_role("button")).to_have_text(["Yes", "No"])
    expect(page.locator("#message-list .chip").filter(has_text="Yes")).to_have_count(1)
    visitor.screenshot(path=str(SCREENSHOTS / "widget.png"))
    answers.get_by_role("button", name="Yes").click()
    expect(log).to_contain_text("What's the order number?")
    expect(answers).to_be_hidden()
    expect(page.locator("#message-list")).to_contain_text("tapped: ORDER")

    visitor_id = visitor.evaluate("SwitchboardWebChat.visitorId")
    contact = next(item for item in gateway.api("GET", "/contacts?channel=webchat&limit=100")["items"]
                   if any(channel["address"] == visitor_id for channel in item["channels"]))

    # A reload is the same visitor, with the whole conversation and nothing twice.
    visitor.reload()
    chat = widget(visitor)
    expect(chat.get_by_role("log")).to_contain_text("What's the order number?")
    assert visitor.evaluate("SwitchboardWebChat.visitorId") == visitor_id
    ids = visitor.evaluate("SwitchboardWebChat.messageIds")
    assert len(ids) == len(set(ids)) == len(conversation_texts(gateway, contact["id"]))

    # The socket drops; a message written meanwhile is sent after the reconnect, once.
    visitor.evaluate("SwitchboardWebChat.disconnect()")
    chat.get_by_label("Message").fill("A-1001")
    chat.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("log")).to_contain_text("Order A-1001 noted", timeout=15000)
    texts = conversation_texts(gateway, contact["id"])
    assert texts.count(("inbound", "A-1001")) == 1
    expect(page.locator("#message-list")).to_contain_text("Order A-1001 noted")
    wait_for(lambda: gateway.api("GET", f"/contacts/{contact['id']}")["attributes"].get("order_id") == "A-1001",
             message="the flow's attribute")
    visitor_context.close()
    assert not errors, errors
