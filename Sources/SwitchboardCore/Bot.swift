/// A bot answers a contact's inbound message: replies to send and effects on the contact.
///
/// `respond` runs inside the transaction that stores the inbound message, so the message, the
/// replies and the effects (attributes, tags, the bot's own state, a handoff) are committed
/// together: a crash cannot keep one and lose the other. It must therefore be quick and do no
/// I/O; bots that call out (the HTTP bot) run behind their own queue.
public protocol Bot: Sendable {
    func respond(to input: BotInput) -> BotTurn
}

/// What a bot is told.
public struct BotInput: Sendable {
    public var message: Message
    public var contact: Contact
    /// The state this bot kept for this contact after its last turn (a flow's position), if any.
    public var state: String?

    public init(message: Message, contact: Contact, state: String?) {
        self.message = message
        self.contact = contact
        self.state = state
    }
}

/// What a bot answers.
public struct BotTurn: Sendable, Equatable {
    public var replies: [Content]
    public var effects: [BotEffect]
    /// The state to keep for the next turn; nil clears it.
    public var state: String?

    public init(replies: [Content] = [], effects: [BotEffect] = [], state: String? = nil) {
        self.replies = replies
        self.effects = effects
        self.state = state
    }
}

/// A change a bot makes to its contact, applied in the same transaction as its replies.
public enum BotEffect: Sendable, Equatable {
    case setAttribute(name: String, value: String)
    case removeAttribute(name: String)
    case addTag(String)
    case removeTag(String)
    case subscribe(Channel)
    case unsubscribe(Channel)
    /// Turns the bot off for the contact and records a note: agents answer from now on.
    case handoff(reason: String?)
}

/// Answers every text with "You said: …": the walking skeleton's bot, and a handy probe.
public struct EchoBot: Bot {
    public init() {}

    public func respond(to input: BotInput) -> BotTurn {
        let content = input.message.content
        guard let text = content.text ?? content.postback?.payload, !text.isEmpty else {
            if !content.attachments.isEmpty {
                return BotTurn(replies: [Content(text: "You sent \(content.attachments.count) attachment(s).")])
            }
            return BotTurn()
        }
        return BotTurn(replies: [Content(text: "You said: \(text)")])
    }
}
