/// A bot answers a contact's inbound message with replies.
///
/// `replies` runs inside the transaction that stores the inbound message, so the message and the
/// replies it causes are committed together: a crash cannot keep one and lose the other. It must
/// therefore be quick and do no I/O; bots that call out (HTTP bots) run behind their own queue.
public protocol Bot: Sendable {
    func replies(to message: Message, contact: Contact) -> [Content]
}

/// Answers every text with "You said: …": the walking skeleton's bot, and a handy probe.
public struct EchoBot: Bot {
    public init() {}

    public func replies(to message: Message, contact: Contact) -> [Content] {
        guard let text = message.content.text ?? message.content.postback?.payload, !text.isEmpty else {
            if !message.content.attachments.isEmpty {
                return [Content(text: "You sent \(message.content.attachments.count) attachment(s).")]
            }
            return []
        }
        return [Content(text: "You said: \(text)")]
    }
}
