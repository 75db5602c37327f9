// The console's client of the gateway's REST API (docs/api.md): every call carries the API token,
// and every failure becomes an APIError with the gateway's error code and message.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class API {
  constructor(token) {
    this.token = token;
  }

  /** A call with a JSON body, or with a raw one (`{raw, type}`: a file to keep). */
  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    let payload;
    if (body?.raw !== undefined) {
      headers["Content-Type"] = body.type;
      payload = body.raw;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
    } catch (error) {
      throw new APIError(0, "network_error", "The gateway cannot be reached.");
    }
    if (response.status === 204) return null;
    let json = null;
    try { json = await response.json(); } catch { /* a body that is not JSON */ }
    if (!response.ok) {
      throw new APIError(response.status, json?.error?.code ?? `http_${response.status}`,
        json?.error?.message ?? `The gateway answered ${response.status}.`);
    }
    return json;
  }

  static query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  contacts({ query, tag, channel, cursor, limit = 50 } = {}) {
    return this.request("GET", `/contacts${API.query({ query, tag, channel, cursor, limit })}`);
  }
  contact(id) { return this.request("GET", `/contacts/${encodeURIComponent(id)}`); }
  updateContact(id, fields) { return this.request("PATCH", `/contacts/${encodeURIComponent(id)}`, fields); }
  messages(id, before, limit = 30) {
    return this.request("GET", `/contacts/${encodeURIComponent(id)}/messages${API.query({ before, limit })}`);
  }
  /** A kept file, read with the token, as a `blob:` URL an `<img>` can show. */
  async mediaURL(id) {
    let response;
    try {
      response = await fetch(`/api/v1/media/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${this.token}` } });
    } catch {
      throw new APIError(0, "network_error", "The gateway cannot be reached.");
    }
    if (!response.ok) throw new APIError(response.status, `http_${response.status}`, `The gateway answered ${response.status}.`);
    return URL.createObjectURL(await response.blob());
  }
  /** Keeps a file for an outbound message: `{id, url, mimeType, size, name}`. */
  uploadMedia(file) {
    return this.request("POST", `/media${API.query({ name: file.name })}`, { raw: file, type: file.type || "application/octet-stream" });
  }
  reply(id, { channel, text, attachments, authorName }) {
    const body = { content: text ? { text } : {} };
    if (attachments?.length) body.content.attachments = attachments;
    if (channel) body.channel = channel;
    if (authorName) body.author = { name: authorName };
    return this.request("POST", `/contacts/${encodeURIComponent(id)}/messages`, body);
  }
  setAttribute(id, name, value) {
    return this.request("PUT", `/contacts/${encodeURIComponent(id)}/attributes/${encodeURIComponent(name)}`, { value });
  }
  deleteAttribute(id, name) {
    return this.request("DELETE", `/contacts/${encodeURIComponent(id)}/attributes/${encodeURIComponent(name)}`);
  }
  setSubscription(id, channel, subscribed) {
    return this.request("PUT", `/contacts/${encodeURIComponent(id)}/subscriptions/${encodeURIComponent(channel)}`, { subscribed });
  }
  tags() { return this.request("GET", "/tags"); }
  createTag(name) { return this.request("POST", "/tags", { name }); }
  deleteTag(name) { return this.request("DELETE", `/tags/${encodeURIComponent(name)}`); }
  assignTag(id, name) { return this.request("PUT", `/contacts/${encodeURIComponent(id)}/tags/${encodeURIComponent(name)}`); }
  unassignTag(id, name) { return this.request("DELETE", `/contacts/${encodeURIComponent(id)}/tags/${encodeURIComponent(name)}`); }
  broadcasts() { return this.request("GET", "/broadcasts?limit=20"); }
  createBroadcast({ tags, channel, text }) {
    const body = { target: { tags }, content: { text } };
    if (channel) body.channel = channel;
    return this.request("POST", "/broadcasts", body);
  }
  cancelBroadcast(id) { return this.request("POST", `/broadcasts/${encodeURIComponent(id)}/cancel`); }
  rcsCapabilities(phone) { return this.request("GET", `/rcs/capabilities/${encodeURIComponent(phone)}`); }

  /** Server-Sent Events; EventSource sends no headers, so the token goes in the query. */
  events() { return new EventSource(`/api/v1/events?access_token=${encodeURIComponent(this.token)}`); }
}
