// The Switchboard console: contacts (left), the selected contact's message trail (middle) and the
// contact panel (right), kept live by the gateway's event stream. Plain ES module, no build step.
import { API, APIError } from "./api.js";
import { BroadcastsView } from "./broadcasts.js";
import { $, h } from "./dom.js";

const TOKEN_KEY = "switchboard.console.token";
const AGENT_KEY = "switchboard.console.agentName";
const CHANNEL_NAMES = { sms: "SMS", rcs: "RCS", messenger: "Messenger", webchat: "Web chat" };
const STATUS_MARKS = { received: "", queued: "🕓", sending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠ failed" };

function icon(name, label) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  if (label) { svg.setAttribute("role", "img"); svg.setAttribute("aria-label", label); }
  else svg.setAttribute("aria-hidden", "true");
  if (label) svg.append(Object.assign(document.createElementNS("http://www.w3.org/2000/svg", "title"), { textContent: label }));
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `/console/icons.svg#${name}`);
  svg.append(use);
  return svg;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : dateFormat.format(date);
}
const longTime = (iso) => (iso ? fullFormat.format(new Date(iso)) : "");
/** A message's time: the clock today, the date and clock before. */
function messageTime(iso) {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : fullFormat.format(date);
}

function displayName(contact) {
  return contact.name || contact.phone || contact.facebook?.psid && "Messenger user" || (contact.lastChannel === "webchat" ? "Web visitor" : "Unknown");
}

function initials(contact) {
  const name = contact.name?.trim();
  if (!name) return contact.phone ? "#" : "?";
  return name.split(/\s+/).slice(0, 2).map((part) => part[0].toUpperCase()).join("");
}

// Only absolute http(s) URLs become links or images: the gateway checks them too, but what the
// console renders is checked where it is rendered (a javascript: link would run in this origin).
function safeURL(url) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function avatar(contact, large = false) {
  const element = h("span", { class: large ? "avatar large" : "avatar", "aria-hidden": "true" });
  const photo = safeURL(contact.photoUrl);
  if (photo) {
    const image = h("img", { src: photo, alt: "" });
    image.addEventListener("error", () => { image.remove(); element.textContent = initials(contact); });
    element.append(image);
  } else {
    element.textContent = initials(contact);
  }
  return element;
}

class Console {
  constructor() {
    this.api = null;
    this.contacts = [];
    this.contactsCursor = null;
    this.selected = null;          // the selected contact
    this.loading = null;           // the contact being opened: {id, events that came meanwhile}
    this.messages = [];            // its trail, oldest first
    this.messagesCursor = null;    // for older messages
    this.loadingOlder = false;
    this.tags = [];
    this.events = null;
    this.searchTimer = null;
    this.pinned = true;            // the trail shows its latest message
    this.capabilities = null;      // the capability table's entry for the selected phone
    this.attributeEdits = new Map(); // attribute values typed but not saved yet
    this.mediaBlobs = new Map();   // the open trail's kept files: media id -> Promise of a blob: URL
  }

  start() {
    $("signin-form").addEventListener("submit", (event) => { event.preventDefault(); this.signIn($("signin-token").value.trim()); });
    $("signout").addEventListener("click", () => this.signOut());
    $("contact-search").addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadContacts(), 250);
    });
    $("filter-tag").addEventListener("change", () => this.loadContacts());
    $("filter-channel").addEventListener("change", () => this.loadContacts());
    $("contacts-more").addEventListener("click", () => this.loadContacts({ more: true }));
    $("contact-list").addEventListener("keydown", (event) => this.contactListKeys(event));
    $("messages").addEventListener("scroll", () => {
      const list = $("messages");
      this.pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      if (list.scrollTop < 80) this.loadOlder();
    });
    // Images load after the trail is laid out: keep a trail that was at its end at its end.
    $("message-list").addEventListener("load", () => { if (this.pinned) $("messages").scrollTop = $("messages").scrollHeight; }, true);
    $("composer").addEventListener("submit", (event) => { event.preventDefault(); this.sendReply(); });
    $("composer-file").addEventListener("change", () => this.showAttachment());
    $("composer-file-remove").addEventListener("click", () => { $("composer-file").value = ""; this.showAttachment(); });
    $("composer-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); this.sendReply(); }
    });
    $("composer-author").value = localStorage.getItem(AGENT_KEY) ?? "";
    $("composer-author").addEventListener("change", () => localStorage.setItem(AGENT_KEY, $("composer-author").value.trim()));
    $("bot-toggle").addEventListener("change", () => this.setBot($("bot-toggle").checked));
    // Forms are cleared when submitted, not when the gateway answers: by then the agent may be
    // typing the next entry (a live update can redraw the panel before the answer arrives).
    $("attribute-add").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = $("attribute-name").value.trim(), value = $("attribute-value").value;
      $("attribute-name").value = ""; $("attribute-value").value = "";
      this.mutate(async (id) => {
        try { await this.api.setAttribute(id, name, value); } catch (error) {
          if (!$("attribute-name").value) { $("attribute-name").value = name; $("attribute-value").value = value; }
          throw error;
        }
      });
    });
    $("tag-assign").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = $("tag-existing").value;
      if (name) this.mutate((id) => this.api.assignTag(id, name));
    });
    $("tag-create").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = $("tag-new").value.trim();
      $("tag-new").value = "";
      this.mutate(async (id) => {
        try {
          try { await this.api.createTag(name); } catch (error) { if (error.status !== 409) throw error; }
          await this.api.assignTag(id, name);
        } catch (error) {
          if (!$("tag-new").value) $("tag-new").value = name;
          throw error;
        }
      });
    });
    $("view-conversations").addEventListener("click", () => this.showView("conversations"));
    $("view-broadcasts").addEventListener("click", () => this.showView("broadcasts"));
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) this.signIn(token); else this.showSignIn();
  }

  /** Conversations (contacts, trail, panel) or Broadcasts. */
  async showView(name) {
    const broadcasts = name === "broadcasts";
    $("app").classList.toggle("showing-broadcasts", broadcasts);
    $("broadcasts").hidden = !broadcasts;
    $("view-conversations").setAttribute("aria-pressed", String(!broadcasts));
    $("view-broadcasts").setAttribute("aria-pressed", String(broadcasts));
    this.broadcasts ??= new BroadcastsView(() => this.api, (error, where) => this.handle(error, where));
    if (broadcasts) await this.broadcasts.show(); else { this.broadcasts.hide(); await this.loadTags(); }
  }

  // Sign-in

  showSignIn(message = "") {
    this.broadcasts?.hide();
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message;
    $("signin-token").focus();
  }

  async signIn(token) {
    if (!token) return this.showSignIn("Enter the API token.");
    this.api = new API(token);
    try {
      await this.loadTags();
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      return this.showSignIn(error.status === 401 ? "The gateway refused that token." : error.message);
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    $("app").hidden = false;
    if ($("app").classList.contains("showing-broadcasts")) this.broadcasts?.show();
    await this.loadContacts();
    this.listen();
  }

  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    this.events?.close();
    this.events = null;
    this.selected = null;
    location.reload();
  }

  handle(error, where = "panel-error") {
    if (error instanceof APIError && error.status === 401) return this.showSignIn("Your token is no longer accepted; sign in again.");
    $(where).textContent = error.message;
    console.warn(error);
  }

  // Live updates

  listen() {
    this.events?.close();
    const events = this.api.events();
    this.events = events;
    let opened = false;
    events.addEventListener("open", () => {
      $("live").textContent = "Live";
      $("live").classList.add("on");
      // After a reconnect, fetch what may have changed while the stream was down.
      if (opened) { this.loadContacts({ keepSelection: true }); if (this.selected) this.refreshSelected(); }
      opened = true;
    });
    events.addEventListener("error", () => {
      $("live").textContent = "Reconnecting…";
      $("live").classList.remove("on");
      if (events.readyState === EventSource.CLOSED) {
        setTimeout(async () => {
          if (this.events !== events) return;
          try { await this.api.tags(); this.listen(); } catch (error) { this.handle(error); }
        }, 3000);
      }
    });
    const parse = (handler) => (event) => { try { handler(JSON.parse(event.data)); } catch (error) { console.warn(error); } };
    events.addEventListener("message.created", parse(({ message }) => this.messageCreated(message)));
    events.addEventListener("message.status", parse(({ message }) => this.messageChanged(message)));
    events.addEventListener("message.reaction", parse(({ message }) => this.messageChanged(message)));
    events.addEventListener("contact.changed", parse(({ contact }) => this.contactChanged(contact)));
  }

  filtersActive() {
    return $("contact-search").value.trim() || $("filter-tag").value || $("filter-channel").value;
  }

  async messageCreated(message) {
    const known = this.contacts.find((contact) => contact.id === message.contactId);
    if (known) {
      known.lastMessageAt = message.createdAt;
      known.lastChannel = message.channel;
      if (message.direction === "inbound" && message.contactId !== this.selected?.id) known.unread = true;
      this.sortContacts();
      this.renderContacts();
    } else if (!this.filtersActive()) {
      try {
        const contact = await this.api.contact(message.contactId);
        if (!this.contacts.some((existing) => existing.id === contact.id)) {
          contact.unread = message.direction === "inbound";
          this.contacts.push(contact);
          this.sortContacts();
          this.renderContacts();
        }
      } catch (error) { this.handle(error, "contacts-empty"); }
    }
    if (message.contactId === this.selected?.id || message.contactId === this.loading?.id) this.messageChanged(message);
  }

  /** A message created or changed: events can arrive in any order (the outbox may report a
   *  send's result before the event of its creation), so the latest `updatedAt` wins and a
   *  message not yet shown takes its place by id (ids are time-ordered). */
  messageChanged(message) {
    // The contact being opened: its trail is on its way and may predate this; applied after it.
    if (message.contactId === this.loading?.id) this.loading.events.push(message);
    if (message.contactId !== this.selected?.id) return;
    const index = this.messages.findIndex((existing) => existing.id === message.id);
    if (index >= 0) {
      if ((message.updatedAt ?? "") < (this.messages[index].updatedAt ?? "")) return;
      this.messages[index] = message;
      $(`message-${message.id}`)?.replaceWith(this.renderMessage(message));
      return;
    }
    // Older than the pages loaded so far: it will come with its page.
    if (this.messagesCursor && this.messages.length && message.id < this.messages[0].id) return;
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const later = this.messages.findIndex((existing) => existing.id > message.id);
    const element = this.renderMessage(message);
    if (later < 0) {
      this.messages.push(message);
      $("message-list").append(element);
    } else {
      $(`message-${this.messages[later].id}`)?.before(element);
      this.messages.splice(later, 0, message);
    }
    $("messages-empty").hidden = true;
    if (atBottom || message.direction === "outbound") list.scrollTop = list.scrollHeight;
  }

  contactChanged(contact) {
    const index = this.contacts.findIndex((existing) => existing.id === contact.id);
    if (index >= 0) {
      contact.unread = this.contacts[index].unread;
      this.contacts[index] = contact;
    } else if (!this.filtersActive()) {
      this.contacts.push(contact);
    }
    this.sortContacts();
    this.renderContacts();
    if (contact.id === this.selected?.id) {
      this.selected = contact;
      this.renderPanel();
      this.renderComposerChannels();
    }
  }

  // Contacts

  sortContacts() {
    this.contacts.sort((a, b) => (b.lastMessageAt ?? "").localeCompare(a.lastMessageAt ?? "") || a.id.localeCompare(b.id));
  }

  async loadContacts({ more = false, keepSelection = true } = {}) {
    try {
      const page = await this.api.contacts({
        query: $("contact-search").value.trim(), tag: $("filter-tag").value, channel: $("filter-channel").value,
        cursor: more ? this.contactsCursor : undefined,
      });
      this.contacts = more ? this.contacts.concat(page.items) : page.items;
      this.contactsCursor = page.nextCursor;
      this.renderContacts();
      if (!keepSelection) this.select(null);
    } catch (error) { this.handle(error, "panel-error"); }
  }

  renderContacts() {
    const list = $("contact-list");
    const focusedId = document.activeElement?.closest?.("#contact-list li")?.dataset.id;
    list.replaceChildren(...this.contacts.map((contact) => {
      const channel = contact.lastChannel;
      const button = h("button", {
        type: "button", "aria-current": contact.id === this.selected?.id ? "true" : "false",
        onclick: () => this.select(contact.id),
      },
        avatar(contact),
        h("span", { class: "contact-name" }, displayName(contact)),
        h("span", { class: "contact-time" },
          h("time", { datetime: contact.lastMessageAt ?? "", title: longTime(contact.lastMessageAt) }, shortTime(contact.lastMessageAt)),
          channel ? icon(channel, CHANNEL_NAMES[channel]) : null),
        h("span", { class: "contact-phone" }, contact.phone ?? contact.channels?.[0]?.address ?? ""),
      );
      return h("li", { "data-id": contact.id, class: contact.unread ? "unread" : "" }, button);
    }));
    $("contacts-empty").hidden = this.contacts.length > 0;
    $("contacts-more").hidden = !this.contactsCursor;
    if (focusedId) list.querySelector(`li[data-id="${CSS.escape(focusedId)}"] button`)?.focus();
  }

  contactListKeys(event) {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const buttons = [...$("contact-list").querySelectorAll("button")];
    const index = buttons.indexOf(document.activeElement);
    const next = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (buttons[next]) { event.preventDefault(); buttons[next].focus(); }
  }

  async select(id) {
    $("composer-error").textContent = "";
    $("panel-error").textContent = "";
    if (!id) {
      this.selected = null;
      this.messages = [];
      this.releaseMedia();
      this.renderTrail();
      this.renderPanel();
      return;
    }
    const loading = { id, events: [] };
    this.loading = loading;
    try {
      const [contact, page] = await Promise.all([this.api.contact(id), this.api.messages(id)]);
      if (this.loading !== loading) return; // another contact was chosen meanwhile
      this.loading = null;
      this.selected = contact;
      this.attributeEdits.clear();
      this.releaseMedia();
      const listed = this.contacts.find((existing) => existing.id === id);
      if (listed) listed.unread = false;
      this.messages = page.items;
      this.messagesCursor = page.nextCursor;
      this.renderContacts();
      this.renderTrail();
      this.renderPanel();
      this.renderComposerChannels();
      this.loadCapabilities();
      // What changed while the trail was on its way (a status callback, a new message).
      for (const message of loading.events) this.messageChanged(message);
    } catch (error) {
      if (this.loading === loading) this.loading = null;
      this.handle(error);
    }
  }

  async refreshSelected() {
    if (!this.selected) return;
    const id = this.selected.id;
    try {
      const [contact, page] = await Promise.all([this.api.contact(id), this.api.messages(id)]);
      if (this.selected?.id !== id) return;
      this.selected = contact;
      for (const message of page.items) this.messageChanged(message);
      this.renderPanel();
    } catch (error) { this.handle(error); }
  }

  // The trail

  renderTrail() {
    const contact = this.selected;
    $("trail-title").textContent = contact ? displayName(contact) : "No conversation selected";
    $("trail-subtitle").textContent = contact
      ? [contact.phone, contact.lastChannel && `last on ${CHANNEL_NAMES[contact.lastChannel]}`, contact.botEnabled ? "bot on" : "agents only"].filter(Boolean).join(" · ")
      : "";
    $("message-list").replaceChildren(...this.messages.map((message) => this.renderMessage(message)));
    $("messages-empty").hidden = this.messages.length > 0;
    $("messages-empty").textContent = contact ? "No messages yet." : "Choose a contact to see the conversation.";
    $("composer").hidden = !contact;
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
    this.pinned = true;
  }

  renderMessage(message) {
    const content = message.content ?? {};
    const outbound = message.direction === "outbound";
    const author = message.author ?? { kind: outbound ? "system" : "contact" };
    const authorLabel = author.kind === "bot" ? `Bot${author.name ? ` (${author.name})` : ""}`
      : author.kind === "agent" ? `Agent${author.name ? `: ${author.name}` : ""}`
      : author.kind === "system" ? "System" : (this.selected ? displayName(this.selected) : "Contact");
    const status = message.status;
    const statusText = status === "failed" && message.error ? `failed: ${message.error.message}` : status;
    const note = author.kind === "system";
    return h("li", { id: `message-${message.id}`, class: `message ${note ? "note" : outbound ? "outbound" : "inbound"}`, "data-status": status },
      content.text ? h("div", { class: "text" }, content.text) : null,
      content.attachments?.length ? h("div", { class: "attachments" }, content.attachments.map((attachment) => this.renderAttachment(attachment))) : null,
      content.location ? h("div", { class: "text" }, `📍 ${content.location.label ?? "Location"} (${content.location.latitude}, ${content.location.longitude})`) : null,
      content.postback && !content.text ? h("div", { class: "text" }, content.postback.title ?? content.postback.payload) : null,
      content.postback ? h("ul", { class: "chips", "aria-label": "Tapped" }, h("li", { class: "chip postback" }, `tapped: ${content.postback.payload}`)) : null,
      content.cards?.length ? h("ul", { class: `cards${content.cards.length === 1 ? " single" : ""}`, "aria-label": content.cards.length === 1 ? "Card" : "Carousel" },
        content.cards.map((card) => this.renderCard(card))) : null,
      content.actions?.length ? this.renderActions(content.actions, "Actions") : null,
      content.quickReplies?.length ? h("ul", { class: "chips", "aria-label": "Quick replies" },
        content.quickReplies.map((reply) => h("li", { class: "chip", title: `payload ${reply.payload}` }, reply.title))) : null,
      message.reaction ? h("span", { class: "reaction", title: `Reaction${message.reaction.name ? `: ${message.reaction.name}` : ""}`,
        "aria-label": `Reaction: ${message.reaction.emoji ?? message.reaction.name}` }, message.reaction.emoji ?? message.reaction.name) : null,
      h("div", { class: "meta" },
        h("span", { class: `author ${author.kind}` }, author.kind === "bot" || author.kind === "agent" ? icon(author.kind) : null, authorLabel),
        icon(message.channel, CHANNEL_NAMES[message.channel]),
        h("time", { datetime: message.createdAt, title: longTime(message.createdAt) }, messageTime(message.createdAt)),
        outbound && !note ? h("span", { class: `status ${status}`, title: statusText, "aria-label": `Status: ${statusText}` }, STATUS_MARKS[status] ?? status) : null,
      ),
    );
  }

  /** A rich card as the contact sees it, roughly: media, title, description, its buttons. */
  renderCard(card) {
    const media = card.media ? safeURL(card.media.url) : null;
    return h("li", { class: "card" },
      media ? h("img", { src: media, alt: card.title ?? "card image", loading: "lazy", class: card.media.height ?? "medium" }) : null,
      card.title ? h("strong", {}, card.title) : null,
      card.description ? h("p", {}, card.description) : null,
      card.actions?.length ? this.renderActions(card.actions, "Card actions") : null);
  }

  /** Buttons as chips, each saying what it does (the console shows; it does not act for the contact). */
  renderActions(actions, label) {
    const detail = (action) => {
      switch (action.kind) {
        case "reply": return `reply, payload ${action.payload}`;
        case "openUrl": return `opens ${action.url}`;
        case "dial": return `calls ${action.phone}`;
        case "shareLocation": return "asks for the contact's location";
        case "viewLocation": return `shows ${action.label ?? ""} ${action.latitude}, ${action.longitude}`.replace("  ", " ");
        case "calendar": return `adds "${action.eventTitle}" ${action.startTime} to ${action.endTime}`;
        default: return action.kind;
      }
    };
    const marks = { openUrl: "↗ ", dial: "☎ ", shareLocation: "📍 ", viewLocation: "🗺 ", calendar: "📅 " };
    return h("ul", { class: "chips actions", "aria-label": label },
      actions.map((action) => h("li", { class: `chip action ${action.kind}`, title: detail(action) }, `${marks[action.kind] ?? ""}${action.title}`)));
  }

  renderAttachment(attachment) {
    const url = safeURL(attachment.url);
    const label = attachment.name ?? String(attachment.url ?? "").split("/").pop()?.split("?")[0] ?? "attachment";
    if (!url) return h("span", { class: "muted small" }, icon("attachment"), ` ${label} (link not shown)`);
    // Inbound media: the gateway fetches a copy (provider links expire); until then, or when it
    // could not, the trail says so.
    const state = attachment.fetch === "pending" ? h("span", { class: "fetch pending muted small" }, "copying from the provider…")
      : attachment.fetch === "failed" ? h("span", { class: "fetch failed small" }, `not copied: ${attachment.fetchError ?? "the provider's link failed"}`)
      : null;
    if (attachment.kind === "image" && attachment.mediaId) {
      // The gateway's copy, read with the token (its signed URL expires; the copy does not).
      const image = h("img", { alt: attachment.name ?? "image attachment", loading: "lazy", "data-media-id": attachment.mediaId });
      this.mediaBlob(attachment.mediaId).then((blobURL) => { image.src = blobURL; }).catch(() => { image.src = url; });
      return h("span", { class: "attachment" }, image, state);
    }
    if (attachment.kind === "image") {
      return h("span", { class: "attachment" }, h("a", { href: url, target: "_blank", rel: "noopener noreferrer" },
        h("img", { src: url, alt: attachment.name ?? "image attachment", loading: "lazy" })), state);
    }
    return h("span", { class: "attachment" }, h("a", { href: url, target: "_blank", rel: "noopener noreferrer", download: "" },
      icon("attachment"), ` ${label}`, attachment.mimeType ? h("span", { class: "muted small" }, ` (${attachment.mimeType})`) : null), state);
  }

  /** A kept file as a `blob:` URL, read once for the open trail however often it is drawn again. */
  mediaBlob(id) {
    let blob = this.mediaBlobs.get(id);
    if (!blob) {
      blob = this.api.mediaURL(id);
      blob.catch(() => this.mediaBlobs.delete(id)); // read again next time
      this.mediaBlobs.set(id, blob);
    }
    return blob;
  }

  /** Frees the open trail's files (another contact, or none, is shown). */
  releaseMedia() {
    for (const blob of this.mediaBlobs.values()) blob.then((blobURL) => URL.revokeObjectURL(blobURL), () => {});
    this.mediaBlobs.clear();
  }

  async loadOlder() {
    if (this.loadingOlder || !this.messagesCursor || !this.selected) return;
    this.loadingOlder = true;
    const id = this.selected.id;
    try {
      const page = await this.api.messages(id, this.messagesCursor);
      if (this.selected?.id !== id) return;
      const known = new Set(this.messages.map((message) => message.id));
      const older = page.items.filter((message) => !known.has(message.id));
      this.messages = older.concat(this.messages);
      this.messagesCursor = page.nextCursor;
      const list = $("messages");
      const fromBottom = list.scrollHeight - list.scrollTop;
      $("message-list").prepend(...older.map((message) => this.renderMessage(message)));
      list.scrollTop = list.scrollHeight - fromBottom;
    } catch (error) { this.handle(error, "composer-error"); }
    finally { this.loadingOlder = false; }
  }

  renderComposerChannels() {
    const contact = this.selected;
    if (!contact) return;
    const select = $("composer-channel");
    const current = select.dataset.contact === contact.id ? select.value : null;
    const channels = (contact.channels ?? []).map((entry) => entry.channel);
    select.replaceChildren(...channels.map((channel) =>
      h("option", { value: channel }, `${CHANNEL_NAMES[channel] ?? channel}${channel === contact.lastChannel ? " (in use)" : ""}`)));
    select.value = current && channels.includes(current) ? current : (contact.lastChannel ?? channels[0] ?? "");
    select.dataset.contact = contact.id;
  }

  /** The file chosen to go with the reply, by name, with a way to remove it. */
  showAttachment() {
    const file = $("composer-file").files?.[0];
    $("composer-attachment").hidden = !file;
    $("composer-file-name").textContent = file ? `${file.name} (${Math.ceil(file.size / 1024)} KB)` : "";
    // A picture is previewed before it is sent (from the file itself: nothing is uploaded yet).
    const preview = $("composer-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.removeAttribute("src");
    preview.hidden = !(file && file.type.startsWith("image/"));
    if (!preview.hidden) preview.src = URL.createObjectURL(file);
  }

  async sendReply() {
    const text = $("composer-text").value.trim();
    const file = $("composer-file").files?.[0];
    if ((!text && !file) || !this.selected) return;
    $("composer-error").textContent = "";
    const button = $("composer").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // The file is kept by the gateway first; the reply then carries its signed URL, which the
      // provider fetches.
      const attachments = [];
      if (file) {
        const media = await this.api.uploadMedia(file);
        const kind = /^(image|video|audio)\//.exec(media.mimeType)?.[1] ?? "file";
        attachments.push({ kind, url: media.url, mimeType: media.mimeType, name: media.name ?? file.name });
      }
      const message = await this.api.reply(this.selected.id, {
        channel: $("composer-channel").value || undefined, text, attachments, authorName: $("composer-author").value.trim() || undefined,
      });
      $("composer-text").value = "";
      $("composer-file").value = "";
      this.showAttachment();
      this.messageChanged(message);
    } catch (error) {
      this.handle(error, "composer-error");
    } finally {
      button.disabled = false;
    }
  }

  // The contact panel

  async mutate(change) {
    if (!this.selected) return;
    const id = this.selected.id;
    $("panel-error").textContent = "";
    try {
      await change(id);
      const contact = await this.api.contact(id);
      await this.loadTags();
      this.contactChanged(contact);
    } catch (error) { this.handle(error); }
  }

  async setBot(enabled) {
    await this.mutate((id) => this.api.updateContact(id, { botEnabled: enabled }));
    this.renderTrail();
  }

  async loadTags() {
    const page = await this.api.tags();
    this.tags = page.items;
    const filter = $("filter-tag");
    const chosen = filter.value;
    filter.replaceChildren(h("option", { value: "" }, "All tags"), ...this.tags.map((tag) => h("option", { value: tag.name }, tag.name)));
    filter.value = this.tags.some((tag) => tag.name === chosen) ? chosen : "";
    this.renderTags();
  }

  async loadCapabilities() {
    const contact = this.selected;
    if (!contact?.phone) return;
    if (!contact.rcs) $("rcs-body").replaceChildren(h("p", { class: "muted small" }, "Checking the capability table…"));
    try {
      const entry = await this.api.rcsCapabilities(contact.phone);
      this.capabilities = entry;
      if (this.selected?.id === contact.id) this.renderCapabilities(entry);
    } catch (error) {
      if (this.selected?.id !== contact.id || contact.rcs) return;
      const text = error.code === "channel_disabled" ? "RCS is not configured on this gateway." : `Unknown: ${error.message}`;
      $("rcs-body").replaceChildren(h("p", { class: "muted small" }, text));
    }
  }

  renderCapabilities(entry) {
    if (!entry) {
      $("rcs-body").replaceChildren(h("p", { class: "muted small" }, this.selected?.phone ? "Not checked yet." : "No phone number."));
      return;
    }
    $("rcs-body").replaceChildren(
      h("p", { class: "small" }, entry.capable ? "RCS capable" : "Not RCS capable (SMS fallback)",
        entry.checkedAt ? h("span", { class: "muted" }, ` · checked ${longTime(entry.checkedAt)}`) : null),
      entry.features?.length ? h("ul", { class: "feature-list", "aria-label": "Supported RCS features" }, entry.features.map((feature) => h("li", {}, feature))) : null,
    );
  }

  renderPanel() {
    const contact = this.selected;
    $("panel-empty").hidden = !!contact;
    $("panel-body").hidden = !contact;
    if (!contact) return;
    $("panel-avatar").replaceWith(Object.assign(avatar(contact, true), { id: "panel-avatar" }));
    $("panel-name").textContent = displayName(contact);
    $("panel-phone").textContent = contact.phone ?? "";
    $("bot-toggle").checked = contact.botEnabled;
    $("bot-label").textContent = contact.botEnabled ? "Bot answers first" : "Bot off: agents only";
    if (this.capabilities?.phone === contact.phone) this.renderCapabilities(this.capabilities);
    else if (contact.rcs) this.renderCapabilities(contact.rcs);
    else if (!contact.phone) this.renderCapabilities(null);

    const facebook = contact.facebook;
    const windowOpen = facebook?.windowOpenUntil && new Date(facebook.windowOpenUntil) > new Date();
    $("facebook-body").replaceChildren(...(facebook ? [
      h("dt", {}, "PSID"), h("dd", {}, facebook.psid ?? "—"),
      h("dt", {}, "Page"), h("dd", {}, facebook.pageId ?? "—"),
      h("dt", {}, "Window"), h("dd", {}, facebook.windowOpenUntil
        ? `${windowOpen ? "open until" : "closed since"} ${longTime(facebook.windowOpenUntil)}` : "closed"),
    ] : [h("dt", {}, "Messenger"), h("dd", { class: "muted" }, "not on Messenger")]));

    // Live updates re-render the panel: an attribute being edited keeps its typed value and focus.
    const attributes = Object.entries(contact.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const edits = this.attributeEdits;
    const active = document.activeElement;
    const focused = active?.dataset?.attribute;
    // The caret and selection survive the re-render too, so typing never lands mid-value.
    const selection = focused ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
    $("attribute-list").replaceChildren(...(attributes.length ? attributes.map(([name, value]) => {
      const input = h("input", { value: edits.get(name) ?? value, "aria-label": `Value of ${name}`, "data-attribute": name });
      input.addEventListener("input", () => edits.set(name, input.value));
      const save = () => this.mutate(async (id) => { await this.api.setAttribute(id, name, input.value); edits.delete(name); });
      input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); save(); } });
      return h("li", { "data-attribute": name },
        h("code", {}, name), input,
        h("button", { type: "button", "aria-label": `Save ${name}`, onclick: save }, "Save"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${name}`, onclick: () => this.mutate(async (id) => { await this.api.deleteAttribute(id, name); edits.delete(name); }) }, "✕"));
    }) : [h("li", { class: "muted small" }, "None yet.")]));
    if (focused) {
      const input = $("attribute-list").querySelector(`input[data-attribute="${CSS.escape(focused)}"]`);
      if (input) {
        input.focus();
        if (selection && selection[0] !== null) input.setSelectionRange(selection[0], selection[1], selection[2] ?? "none");
      }
    }

    $("channel-list").replaceChildren(...(contact.channels ?? []).map((entry) => {
      const inUse = entry.channel === contact.lastChannel;
      return h("li", { class: inUse ? "in-use" : "", "data-channel": entry.channel, "aria-current": inUse ? "true" : null },
        icon(entry.channel), h("span", {}, h("strong", {}, CHANNEL_NAMES[entry.channel] ?? entry.channel), " ",
          h("span", { class: "address muted small" }, entry.address)),
        inUse ? h("span", { class: "in-use-label" }, "in use") : h("span", { class: "last-used muted small" }, shortTime(entry.lastUsedAt)));
    }));

    $("subscription-list").replaceChildren(...Object.entries(contact.subscriptions ?? {}).map(([channel, subscribed]) => {
      const name = CHANNEL_NAMES[channel] ?? channel;
      return h("li", { "data-channel": channel },
        icon(channel), h("span", {}, name), h("span", { class: subscribed ? "muted small" : "off small" }, subscribed ? "subscribed" : "unsubscribed"),
        h("button", { type: "button", "aria-label": `${subscribed ? "Unsubscribe from" : "Subscribe to"} ${name}`,
          onclick: () => this.mutate((id) => this.api.setSubscription(id, channel, !subscribed)) }, subscribed ? "Unsubscribe" : "Subscribe"));
    }));
    this.renderTags();
  }

  renderTags() {
    const contact = this.selected;
    if (!contact) return;
    const own = contact.tags ?? [];
    $("tag-list").replaceChildren(...(own.length ? own.map((name) => h("li", { "data-tag": name }, name,
      h("button", { type: "button", "aria-label": `Remove tag ${name}`, onclick: () => this.mutate((id) => this.api.unassignTag(id, name)) }, "✕")))
      : [h("li", { class: "none muted small" }, "No tags.")]));
    const available = this.tags.filter((tag) => !own.includes(tag.name));
    $("tag-existing").replaceChildren(...(available.length
      ? available.map((tag) => h("option", { value: tag.name }, tag.name))
      : [h("option", { value: "" }, "no other tags")]));
    $("tag-catalogue").replaceChildren(...this.tags.map((tag) => h("li", { "data-tag": tag.name },
      h("span", {}, tag.name), h("span", { class: "muted small" }, `${tag.contactCount} contact${tag.contactCount === 1 ? "" : "s"}`),
      h("button", { type: "button", class: "danger", "aria-label": `Delete tag ${tag.name} from every contact`, onclick: () => this.deleteTag(tag.name) }, "Delete"))));
  }

  async deleteTag(name) {
    if (!confirm(`Delete the tag “${name}” from every contact?`)) return;
    await this.mutate(() => this.api.deleteTag(name));
    await this.loadContacts();
  }
}

new Console().start();
