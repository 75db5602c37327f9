// The console's Broadcasts view: pick tags, write the message, send it to everyone in them; the
// list below shows each broadcast's counts, refreshed while the view is open.
import { $, h } from "./dom.js";

const SKIP_NAMES = { unsubscribed: "unsubscribed", outside_messaging_window: "outside Messenger's window", no_channel: "no channel" };
const REFRESH_MS = 1500;

export class BroadcastsView {
  /** `api()`: the console's current API client (a new one after signing in again);
   *  `handle(error, where)`: its error display. */
  constructor(api, handle) {
    this.client = api;
    this.handle = handle;
    this.timer = null;
    this.form = $("broadcast-form");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
  }

  async show() {
    $("broadcast-error").textContent = "";
    await Promise.all([this.loadTags(), this.refresh()]);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async loadTags() {
    try {
      const { items } = await this.client().tags();
      const checked = new Set([...this.form.querySelectorAll("input[name=tag]:checked")].map((input) => input.value));
      $("broadcast-tags").replaceChildren(...(items.length ? items.map((tag) => h("li", {},
        h("label", {}, h("input", { type: "checkbox", name: "tag", value: tag.name, checked: checked.has(tag.name) }),
          ` ${tag.name} `, h("span", { class: "muted small" }, `(${tag.contactCount})`))))
        : [h("li", { class: "muted small" }, "No tags yet: tag contacts in the contact panel first.")]));
    } catch (error) { this.handle(error, "broadcast-error"); }
  }

  async send() {
    const tags = [...this.form.querySelectorAll("input[name=tag]:checked")].map((input) => input.value);
    const text = $("broadcast-text").value.trim();
    if (!tags.length) { $("broadcast-error").textContent = "Pick at least one tag."; return; }
    if (!text) { $("broadcast-error").textContent = "Write the message."; return; }
    $("broadcast-error").textContent = "";
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const broadcast = await this.client().createBroadcast({ tags, channel: $("broadcast-channel").value || undefined, text });
      $("broadcast-text").value = "";
      $("broadcast-status").textContent = `Broadcast to ${broadcast.recipients} contact${broadcast.recipients === 1 ? "" : "s"} started.`;
      await this.refresh();
    } catch (error) {
      this.handle(error, "broadcast-error");
    } finally {
      button.disabled = false;
    }
  }

  async cancel(id) {
    try {
      await this.client().cancelBroadcast(id);
      await this.refresh();
    } catch (error) { this.handle(error, "broadcast-error"); }
  }

  async refresh() {
    try {
      const { items } = await this.client().broadcasts();
      $("broadcast-list").replaceChildren(...items.map((broadcast) => this.row(broadcast)));
      $("broadcasts-empty").hidden = items.length > 0;
    } catch (error) { this.handle(error, "broadcast-error"); }
  }

  row(broadcast) {
    const c = broadcast.counts;
    const skipped = Object.entries(c.skipped).filter(([, n]) => n > 0);
    const figure = (name, value) => h("div", { class: "count", "data-count": name }, h("dt", {}, name), h("dd", {}, String(value)));
    const target = [...broadcast.target.tags.map((tag) => `#${tag}`),
      ...(broadcast.target.contactIds.length ? [`${broadcast.target.contactIds.length} contact ids`] : [])].join(", ");
    return h("li", { class: "broadcast", "data-broadcast": broadcast.id, "data-status": broadcast.status },
      h("div", { class: "broadcast-head" },
        h("strong", {}, broadcast.content.text ?? "(attachment)"),
        h("span", { class: `badge ${broadcast.status}` }, broadcast.status),
        broadcast.status === "running"
          ? h("button", { type: "button", class: "danger", "aria-label": `Cancel broadcast ${broadcast.id}`, onclick: () => this.cancel(broadcast.id) }, "Cancel")
          : null),
      h("p", { class: "muted small" }, `${target} · ${broadcast.channel ? broadcast.channel : "each contact's last channel"} · `
        + `${broadcast.recipients} recipients · ${new Date(broadcast.createdAt).toLocaleString()}`),
      h("dl", { class: "counts" }, figure("waiting", c.pending), figure("queued", c.queued), figure("sent", c.sent),
        figure("delivered", c.delivered), figure("read", c.read), figure("failed", c.failed), figure("cancelled", c.cancelled),
        figure("skipped", skipped.reduce((sum, [, n]) => sum + n, 0))),
      skipped.length ? h("p", { class: "muted small skipped" }, "Skipped: " + skipped.map(([reason, n]) => `${n} ${SKIP_NAMES[reason] ?? reason}`).join(", ")) : null);
  }
}
