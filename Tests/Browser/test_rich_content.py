"""Cards and buttons in the widget and the console: the welcome flow's plans carousel (two cards
with reply, link and call buttons) shown to a web-chat visitor, a card's reply button answering the
flow, and the same carousel in the agent's trail. The cards' pictures are the flow's https URLs,
answered here by the browser's request routing (the test machine has no internet)."""

import re

from playwright.sync_api import expect

from conftest import SCREENSHOTS, TOKEN

PICTURES = {
    "basic": ("#1f6feb", "Basic"),
    "plus": ("#8250df", "Plus"),
}


def picture(route):
    name = route.request.url.rsplit("/", 1)[-1].removesuffix(".png")
    color, label = PICTURES.get(name, ("#59636e", "?"))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="440" height="260" viewBox="0 0 440 260">'
           f'<rect width="440" height="260" fill="{color}"/>'
           f'<text x="220" y="150" font-family="DejaVu Sans, sans-serif" font-size="64" fill="#fff" text-anchor="middle">{label}</text></svg>')
    route.fulfill(status=200, content_type="image/svg+xml", body=svg)


def context_for(browser, gateway, viewport):
    """A browser context that may load the flow's card pictures and nothing else from outside."""
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
    outside = []
    context.on("request", lambda request: outside.append(request.url)
               if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "https://switchboard.example/plans/"))
               else None)
    context.route("https://switchboard.example/plans/*.png", picture)
    return context, outside


def test_a_carousel_in_the_widget_and_the_console(browser, gateway):
    visitor_context, visitor_outside = context_for(browser, gateway, {"width": 1024, "height": 800})
    visitor = visitor_context.new_page()
    errors = []
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    visitor.goto(gateway.url + "/webchat/demo")
    chat = visitor.locator("#switchboard-webchat")
    chat.get_by_role("button", name="Open chat: Northwind Bikes").click()
    log = chat.get_by_role("log")
    for text, answer in [("hello", "first name"), ("Grace", "Is this about an order?"), ("plans", "Our plans, Grace:")]:
        chat.get_by_label("Message").fill(text)
        chat.get_by_role("button", name="Send").click()
        expect(log).to_contain_text(answer)

    carousel = chat.get_by_role("list", name="Carousel")
    cards = carousel.get_by_role("listitem")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Basic")
    expect(cards.nth(0)).to_contain_text("5 GB a month, 10 EUR")
    expect(cards.nth(1)).to_contain_text("Plus")
    # Each action as what it does: a reply button, a link, a call.
    expect(cards.nth(0).get_by_role("button", name="Choose Basic")).to_be_visible()
    expect(cards.nth(0).get_by_role("link", name="Details")).to_have_attribute("href", "https://switchboard.example/plans/basic")
    expect(cards.nth(1).get_by_role("link", name="Call sales")).to_have_attribute("href", "tel:+15550100200")
    image = cards.nth(0).get_by_role("img")
    expect(image).to_have_attribute("src", "https://switchboard.example/plans/basic.png")
    visitor.wait_for_function("() => [...document.querySelector('#switchboard-webchat').shadowRoot.querySelectorAll('.card img')].every((img) => img.complete && img.naturalWidth > 0)")
    visitor.screenshot(path=str(SCREENSHOTS / "widget-carousel.png"))

    # The agent's console shows the same carousel in the trail.
    console_context, console_outside = context_for(browser, gateway, {"width": 1440, "height": 900})
    console = console_context.new_page()
    console.on("pageerror", lambda error: errors.append(str(error)))
    console.goto(gateway.url + "/")
    console.get_by_label("API token").fill(TOKEN)
    console.get_by_role("button", name="Sign in").click()
    console.locator("#live.on").wait_for()
    console.locator("#contact-list li").first.get_by_role("button").click()
    trail = console.locator("#message-list")
    trail_cards = trail.get_by_role("list", name="Carousel").get_by_role("listitem").filter(has=console.locator("strong"))
    expect(trail_cards).to_have_count(2)
    expect(trail_cards.nth(1)).to_contain_text("50 GB a month, 20 EUR")
    expect(trail_cards.nth(0).locator(".chip.openUrl")).to_have_attribute("title", "opens https://switchboard.example/plans/basic")
    expect(trail_cards.nth(1).locator(".chip.dial")).to_have_attribute("title", "calls +15550100200")
    console.wait_for_function("() => [...document.querySelectorAll('#message-list .card img')].every((img) => img.complete && img.naturalWidth > 0)")
    console.screenshot(path=str(SCREENSHOTS / "console-carousel.png"))

    # Tapping a card's reply button answers the flow with its payload, once.
    cards.nth(1).get_by_role("button", name="Choose Plus").click()
    expect(log).to_contain_text("Grace, PLAN_PLUS it is: a colleague will confirm it shortly.")
    expect(trail).to_contain_text("tapped: PLAN_PLUS")
    contact = gateway.api("GET", "/contacts?channel=webchat&limit=10")["items"][0]
    assert contact["attributes"]["plan"] == "PLAN_PLUS"
    assert not re.search(r"\bPLAN_BASIC\b", str(contact["attributes"]))

    visitor_context.close()
    console_context.close()
    assert not errors, errors
    assert not visitor_outside and not console_outside, (visitor_outside, console_outside)
