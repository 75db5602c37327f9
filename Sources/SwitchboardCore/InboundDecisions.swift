/// What the gateway answers on its own, before any bot: the replies to SMS keywords.
public struct InboundPolicy: Sendable, Equatable {
    /// Sent once after STOP (as author `system`, the only message allowed after an opt-out). Nil by
    /// default: Twilio already confirms opt-outs on long codes.
    public var stopConfirmation: String?
    /// Sent after START from an unsubscribed contact.
    public var startConfirmation: String?
    /// Sent after HELP or INFO.
    public var helpText: String?
    /// Queue the message for the external (HTTP) bot when the contact's bot is on.
    public var remoteBot: Bool

    public init(stopConfirmation: String? = nil, startConfirmation: String? = nil, helpText: String? = nil, remoteBot: Bool = false) {
        self.stopConfirmation = stopConfirmation
        self.startConfirmation = startConfirmation
        self.helpText = helpText
        self.remoteBot = remoteBot
    }
}

/// What an inbound SMS keyword does (docs/outbound.md): STOP always unsubscribes, HELP always
/// answers (when subscribed), START resubscribes — and is an ordinary message for the bot when the
/// contact was subscribed anyway. Pure: every storage backend applies the same decision.
public enum KeywordDecision: Sendable, Equatable {
    /// Not a keyword (or START while subscribed): the message goes on to the bot.
    case none
    /// A keyword handled here; the bot does not see the message.
    case handled(setSubscribed: Bool?, reply: String?)

    public static func decide(channel: Channel, text: String?, subscribed: Bool, policy: InboundPolicy) -> KeywordDecision {
        guard channel == .sms, let keyword = OptOutKeyword.classify(text) else { return .none }
        switch keyword {
        case .stop:
            return .handled(setSubscribed: false, reply: policy.stopConfirmation)
        case .help:
            return .handled(setSubscribed: nil, reply: subscribed ? policy.helpText : nil)
        case .start where !subscribed:
            return .handled(setSubscribed: true, reply: policy.startConfirmation)
        case .start:
            return .none
        }
    }
}

/// What one bot turn does on the channel the contact wrote on: the replies that go out, those
/// dropped because the contact is (or by this very turn becomes) unsubscribed there, and the effects
/// to store. Both ways a turn arrives — the built-in bot during ingest, an external bot's answer
/// later — apply it through this one plan.
public struct BotTurnPlan: Sendable, Equatable {
    public var replies: [Content]
    public var droppedReplies: Int
    public var effects: [BotEffect]

    public init(turn: BotTurn, channel: Channel, subscribed: Bool) {
        var subscribed = subscribed
        for effect in turn.effects {
            switch effect {
            case .subscribe(let target) where target == channel: subscribed = true
            case .unsubscribe(let target) where target == channel: subscribed = false
            default: break
            }
        }
        let replies = turn.replies.filter { !$0.isEmpty }
        self.replies = subscribed ? replies : []
        self.droppedReplies = subscribed ? 0 : replies.count
        self.effects = turn.effects
    }
}
