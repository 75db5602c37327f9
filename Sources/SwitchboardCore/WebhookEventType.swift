/// What an event-webhook subscriber can ask for (docs/api.md, "Event webhooks").
public enum WebhookEventType: String, Sendable, Codable, CaseIterable, Hashable {
    /// A message was stored: inbound, or queued to go out (agent, bot, API, broadcast).
    case messageCreated = "message.created"
    /// An outbound message moved forward (sent, delivered, read) or failed.
    case messageStatus = "message.status"
    /// The contact reacted to a message or took the reaction back (Messenger).
    case messageReaction = "message.reaction"
    /// A contact was created, or its panel changed: name, photo, bot, attributes, tags,
    /// subscriptions, channels.
    case contactUpdated = "contact.updated"
    /// A broadcast finished: every recipient sent to or skipped, or it was cancelled.
    case broadcastCompleted = "broadcast.completed"
}
