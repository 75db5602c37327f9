// Switchboard web-chat widget. A website includes it with one tag:
//   <script src="https://gateway.example.com/webchat/widget.js" data-title="Acme support" defer></script>
// It opens a chat bubble, keeps the visitor's session token in localStorage (the same visitor after
// a reload), talks to POST /webchat/sessions and GET /webchat/ws (docs/webchat-protocol.md), shows
// the bot's quick replies as buttons, and after a reconnect resends unacknowledged messages (the
// gateway de-duplicates them by client id) and resumes from the last message it saw.
(() => {
  "use strict";
  const script = document.currentScript;
  const base = new URL(script?.src ?? "/webchat/widget.js", location.href);
  const origin = base.origin;
  const title = script?.dataset.title || "Chat with us";
  const greeting = script?.dataset.greeting || "Send us a message and we will answer right here.";
  const storageKey = `switchboard.webchat:${origin}`;
  const store = {
    get(name) { try { return localStorage.getItem(`${storageKey}:${name}`); } catch { return null; } },
    set(name, value) { try { value === null ? localStorage.removeItem(`${storageKey}:${name}`) : localStorage.setItem(`${storageKey}:${name}`, value); } catch { /* private mode */ } },
  };

  const css = `
    :host { all: initial; font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 15px; color: #1f2328; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    .bubble { position: fixed; right: 20px; bottom: 20px; width: 58px; height: 58px; border-radius: 50%; border: 0; cursor: pointer;
      background: #1f6feb; color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; z-index: 2147483000; }
    .bubble svg { width: 28px; height: 28px; }
    .bubble .badge { position: absolute; top: 2px; right: 2px; min-width: 18px; height: 18px; border-radius: 9px; background: #cf222e; font-size: 12px; line-height: 18px; padding: 0 4px; }
    .panel { position: fixed; right: 20px; bottom: 90px; width: min(370px, calc(100vw - 24px)); height: min(540px, calc(100vh - 110px));
      background: #fff; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
    header { background: #1f6feb; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
    header h2 { font-size: 16px; margin: 0; flex: 1; }
    header .state { font-size: 12px; opacity: .85; }
    header button { background: transparent; border: 0; color: #fff; font-size: 20px; cursor: pointer; padding: 0 4px; }
    .log { flex: 1; overflow-y: auto; padding: 12px; margin: 0; list-style: none; display: flex; flex-direction: column; gap: 8px; background: #f6f8fa; }
    .log li { max-width: 82%; padding: 8px 11px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.35; }
    .log .inbound { align-self: flex-end; background: #1f6feb; color: #fff; border-bottom-right-radius: 4px; }
    .log .outbound { align-self: flex-start; background: #fff; border: 1px solid #d0d7de; border-bottom-left-radius: 4px; }
    .log .pending { opacity: .6; }
    .log .note { align-self: center; background: none; color: #59636e; font-size: 13px; text-align: center; }
    .log .who { display: block; font-size: 11px; color: #59636e; margin-bottom: 2px; }
    .log img { max-width: 100%; border-radius: 8px; display: block; }
    .log a { color: inherit; }
    .typing { font-size: 12px; color: #59636e; padding: 0 14px 4px; background: #f6f8fa; }
    .quick { display: flex; flex-wrap: wrap; gap: 6px; padding: 8px 12px; background: #f6f8fa; border-top: 1px solid #eaeef2; }
    .quick button { border: 1px solid #1f6feb; color: #1f6feb; background: #fff; border-radius: 999px; padding: 5px 12px; cursor: pointer; font: inherit; font-size: 14px; }
    .quick button:hover { background: #ddf4ff; }
    .log li.has-cards { max-width: 100%; }
    .cards { display: flex; gap: 8px; overflow-x: auto; margin: 6px 0 0; padding: 0 0 4px; list-style: none; scroll-snap-type: x mandatory; }
    .cards .card { flex: 0 0 220px; max-width: 220px; padding: 0; background: #fff; border: 1px solid #d0d7de; border-radius: 12px; overflow: hidden; color: #1f2328; scroll-snap-align: start; white-space: normal; }
    .cards.single .card { flex-basis: 100%; max-width: 100%; }
    .card img { border-radius: 0; width: 100%; object-fit: cover; }
    .card img.short { height: 90px; } .card img.medium { height: 130px; } .card img.tall { height: 200px; }
    .card .body { padding: 8px 10px; }
    .card strong { display: block; }
    .card p { margin: 4px 0 0; font-size: 14px; color: #59636e; }
    .actions { display: flex; flex-direction: column; gap: 4px; padding: 0 10px 10px; }
    .log li > .actions { padding: 6px 0 0; }
    .actions button, .actions a { display: block; text-align: center; border: 1px solid #1f6feb; color: #1f6feb; background: #fff; border-radius: 8px; padding: 5px 10px; cursor: pointer; font: inherit; font-size: 14px; text-decoration: none; }
    .actions button:hover, .actions a:hover { background: #ddf4ff; }
    form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #d0d7de; }
    input { flex: 1; font: inherit; border: 1px solid #d0d7de; border-radius: 999px; padding: 8px 12px; min-width: 0; }
    form button { font: inherit; border: 0; border-radius: 999px; background: #1f6feb; color: #fff; padding: 8px 14px; cursor: pointer; }
    :focus-visible { outline: 3px solid #54aeff; outline-offset: 1px; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  `;

  // The console's element builder, repeated: the widget is one self-contained classic script that
  // a website includes from another origin, so it imports nothing.
  function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
      else if (key === "class") element.className = value;
      else element.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
    return element;
  }

  // The widget lives in a shadow root, so the host page's styles and ours do not mix.
  const host = h("div", { id: "switchboard-webchat" });
  const shadow = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.append(h("style", {}, css));
  }
  const chatIcon = new DOMParser().parseFromString(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>',
    "image/svg+xml").documentElement;
  const badge = h("span", { class: "badge", hidden: true });
  const bubble = h("button", { class: "bubble", type: "button", "aria-label": `Open chat: ${title}`, "aria-expanded": "false", "aria-controls": "sb-panel" },
    document.importNode(chatIcon, true), badge);
  const state = h("span", { class: "state", role: "status" }, "");
  const log = h("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const typing = h("div", { class: "typing", hidden: true }, "typing…");
  const quick = h("div", { class: "quick", role: "group", "aria-label": "Suggested answers", hidden: true });
  const input = h("input", { type: "text", id: "sb-input", autocomplete: "off", placeholder: "Type a message…", maxlength: "4000" });
  const form = h("form", {}, h("label", { for: "sb-input", class: "visually-hidden" }, "Message"), input, h("button", { type: "submit" }, "Send"));
  const close = h("button", { type: "button", "aria-label": "Close chat" }, "×");
  const panel = h("section", { class: "panel", id: "sb-panel", role: "dialog", "aria-label": title, hidden: true },
    h("header", {}, h("h2", {}, title), state, close), log, typing, quick, form);
  shadow.append(panel, bubble);

  // Conversation state: messages by id (ids sort by time), frames not yet acknowledged.
  const messages = new Map();
  let pending = new Map(JSON.parse(store.get("pending") ?? "[]"));
  let socket = null;
  let attempts = 0;
  let opened = false;
  let unread = 0;
  let connecting = null;
  let typingTimer = null;
  const greetingNote = h("li", { class: "note" }, greeting);
  log.append(greetingNote);

  const savePending = () => store.set("pending", pending.size ? JSON.stringify([...pending]) : null);
  const lastSeen = () => { let last = null; for (const id of messages.keys()) if (!last || id > last) last = id; return last; };

  // This script runs on the business's own website: only https links and images, checked here too.
  const safeURL = (url) => (/^https:\/\//i.test(url ?? "") ? url : null);
  const basicTime = (iso) => { const date = new Date(iso); return isNaN(date) ? null : date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, ""); };

  /** A card's or the message's button (docs/outbound.md, web chat column): a reply sends its
   *  payload back, a link opens, a place opens on a map, an event opens in a calendar, and a
   *  location request answers with the action (the web has no location frame). */
  function actionElement(action) {
    const link = (href, label) => h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label);
    switch (action.kind) {
      case "reply": return h("button", { type: "button", onclick: () => send(action.title, action.payload) }, action.title);
      case "openUrl": { const url = safeURL(action.url); return url ? link(url, action.title) : null; }
      case "dial": return /^\+[1-9]\d{5,14}$/.test(action.phone ?? "") ? h("a", { href: `tel:${action.phone}` }, action.title) : null;
      case "viewLocation":
        return link(`https://maps.google.com/?q=${encodeURIComponent(`${Number(action.latitude)},${Number(action.longitude)}`)}`, action.title);
      case "calendar": {
        const start = basicTime(action.startTime), end = basicTime(action.endTime);
        if (!start || !end) return null;
        const query = new URLSearchParams({ action: "TEMPLATE", text: action.eventTitle ?? action.title, dates: `${start}/${end}`, details: action.description ?? "" });
        return link(`https://calendar.google.com/calendar/render?${query}`, action.title);
      }
      case "shareLocation": return h("button", { type: "button", onclick: () => send(action.title, `shareLocation:${action.title}`) }, action.title);
      default: return null;
    }
  }

  const actionsElement = (actions) => (actions?.length ? h("div", { class: "actions" }, actions.map(actionElement)) : null);

  function cardElement(card) {
    const media = card.media && safeURL(card.media.url);
    const video = media && /^video\//.test(card.media.mimeType ?? "");
    return h("li", { class: "card" },
      media ? (video ? h("video", { src: media, controls: true, class: card.media.height ?? "medium" })
        : h("img", { src: media, alt: card.title ?? "", class: card.media.height ?? "medium" })) : null,
      card.title || card.description ? h("div", { class: "body" }, card.title ? h("strong", {}, card.title) : null, card.description ? h("p", {}, card.description) : null) : null,
      actionsElement(card.actions));
  }

  function render(message) {
    const content = message.content ?? {};
    const outbound = message.direction === "outbound";
    const who = outbound ? (message.author?.kind === "agent" ? (message.author.name || "Agent") : (message.author?.kind === "bot" ? "Assistant" : "")) : "";
    const cards = content.cards ?? [];
    const item = h("li", { class: `${outbound ? "outbound" : "inbound"}${cards.length ? " has-cards" : ""}`, "data-id": message.id },
      who ? h("span", { class: "who" }, who) : null,
      content.text ?? content.postback?.title ?? content.postback?.payload ?? "",
      (content.attachments ?? []).map((attachment) => {
        const url = safeURL(attachment.url);
        if (!url) return null;
        return attachment.kind === "image"
          ? h("img", { src: url, alt: attachment.name ?? "image" })
          : h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, attachment.name ?? "attachment");
      }),
      cards.length ? h("ul", { class: `cards${cards.length === 1 ? " single" : ""}`, "aria-label": cards.length === 1 ? "Card" : "Carousel" }, cards.map(cardElement)) : null,
      actionsElement(content.actions));
    return item;
  }

  function add(message) {
    const known = messages.has(message.id);
    messages.set(message.id, message);
    const item = render(message);
    const existing = log.querySelector(`[data-id="${CSS.escape(message.id)}"]`);
    if (existing) existing.replaceWith(item);
    else {
      // Keep time order even when a replay and a live frame interleave.
      const later = [...log.querySelectorAll("li[data-id]")].find((other) => other.dataset.id > message.id);
      later ? later.before(item) : log.querySelector(".pending") ? log.querySelector(".pending").before(item) : log.append(item);
    }
    if (!known && message.direction === "outbound") {
      typing.hidden = true;
      if (opened) read(message);
      else { unread += 1; badge.textContent = String(unread); badge.hidden = false; }
    }
    renderQuickReplies();
    log.scrollTop = log.scrollHeight;
  }

  function renderQuickReplies() {
    const last = messages.get(lastSeen());
    const replies = last && last.direction === "outbound" && pending.size === 0 ? (last.content?.quickReplies ?? []) : [];
    quick.replaceChildren(...replies.map((reply) => h("button", { type: "button", onclick: () => send(reply.title, reply.payload) }, reply.title)));
    quick.hidden = replies.length === 0;
  }

  function showPending() {
    for (const element of log.querySelectorAll(".pending")) element.remove();
    for (const [id, frame] of pending) log.append(h("li", { class: "inbound pending", "data-client-id": id }, frame.text));
    log.scrollTop = log.scrollHeight;
  }

  function read(message) {
    if (socket?.readyState === WebSocket.OPEN && message.status !== "read") {
      socket.send(JSON.stringify({ type: "read", messageId: message.id }));
    }
  }

  function send(text, payload) {
    text = text.trim();
    if (!text) return;
    const id = `c-${crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`}`;
    const frame = payload ? { type: "message", id, text, payload } : { type: "message", id, text };
    pending.set(id, frame);
    savePending();
    showPending();
    renderQuickReplies();
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    else connect();
  }

  async function session() {
    const token = store.get("token");
    const response = await fetch(`${origin}/webchat/sessions`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(token ? { token } : {}),
    });
    if (!response.ok) throw new Error(`session refused (${response.status})`);
    const body = await response.json();
    if (body.visitorId !== store.get("visitor")) {
      // A new visitor (first visit, or an expired token): nothing of an old conversation applies.
      messages.clear();
      for (const element of log.querySelectorAll("li[data-id]")) element.remove();
    }
    store.set("token", body.token);
    store.set("visitor", body.visitorId);
    return body.token;
  }

  function connect() {
    if (connecting || socket?.readyState === WebSocket.OPEN || socket?.readyState === WebSocket.CONNECTING) return connecting;
    state.textContent = "connecting…";
    connecting = (async () => {
      let token;
      try { token = await session(); } catch (error) { connecting = null; return retry(); }
      const ws = new WebSocket(`${origin.replace(/^http/, "ws")}/webchat/ws?token=${encodeURIComponent(token)}`);
      socket = ws;
      ws.addEventListener("open", () => {
        attempts = 0;
        connecting = null;
        state.textContent = "online";
        const since = lastSeen();
        ws.send(JSON.stringify(since ? { type: "resume", since } : { type: "resume" }));
        for (const frame of pending.values()) ws.send(JSON.stringify(frame));
      });
      ws.addEventListener("message", (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch { return; }
        if (frame.type === "message" && frame.message) {
          if (frame.clientId && pending.delete(frame.clientId)) { savePending(); showPending(); }
          add(frame.message);
        } else if (frame.type === "status") {
          const message = messages.get(frame.messageId);
          if (message) message.status = frame.status;
        } else if (frame.type === "typing") {
          typing.hidden = false;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => { typing.hidden = true; }, 5000);
        } else if (frame.type === "error") {
          console.warn("switchboard web chat:", frame.error);
        }
      });
      ws.addEventListener("close", () => {
        if (socket !== ws) return;
        socket = null;
        connecting = null;
        state.textContent = "offline, reconnecting…";
        retry();
      });
    })();
    return connecting;
  }

  function retry() {
    // Exponential backoff with jitter, at most 30 s between tries.
    const delay = Math.min(30000, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    setTimeout(connect, delay);
  }

  function setOpen(open) {
    opened = open;
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", `${open ? "Close" : "Open"} chat: ${title}`);
    if (open) {
      unread = 0;
      badge.hidden = true;
      for (const message of messages.values()) if (message.direction === "outbound") read(message);
      connect();
      input.focus();
      log.scrollTop = log.scrollHeight;
    }
  }

  bubble.addEventListener("click", () => setOpen(panel.hidden));
  close.addEventListener("click", () => { setOpen(false); bubble.focus(); });
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") { setOpen(false); bubble.focus(); } });
  form.addEventListener("submit", (event) => { event.preventDefault(); send(input.value); input.value = ""; });

  const mount = () => document.body.append(host);
  document.body ? mount() : document.addEventListener("DOMContentLoaded", mount);
  showPending();
  // A returning visitor (or one with unsent messages) reconnects at once, so replies wait for them.
  if (store.get("token") || pending.size) connect();
  if (store.get("open") === "1") setOpen(true);
  bubble.addEventListener("click", () => store.set("open", panel.hidden ? null : "1"));
  close.addEventListener("click", () => store.set("open", null));

  /** For the page and for tests: the widget's state. */
  window.SwitchboardWebChat = {
    open: () => setOpen(true),
    close: () => setOpen(false),
    get visitorId() { return store.get("visitor"); },
    get connected() { return socket?.readyState === WebSocket.OPEN; },
    disconnect() { socket?.close(); },
    get messageIds() { return [...messages.keys()].sort(); },
  };
})();
