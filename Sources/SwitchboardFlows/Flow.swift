import SwitchboardCore

/// A bot flow, as written in `Config/flows/*.json` (docs/flows.md).
public struct Flow: Codable, Sendable, Equatable {
    public var name: String
    /// The step a new conversation starts at; the first step when absent.
    public var start: String?
    public var steps: [Step]

    public init(name: String, start: String? = nil, steps: [Step]) {
        self.name = name
        self.start = start
        self.steps = steps
    }

    /// One step. `type` says which of the other fields apply.
    public struct Step: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable, CaseIterable {
            case say, waitFor, assignAttribute, branch, tag, untag, subscribe, unsubscribe, handoff, goto
        }
        public var id: String
        public var type: Kind
        /// The step to go on to; the next in the list when absent.
        public var next: String?

        // say
        public var text: String?
        public var quickReplies: [Content.QuickReply]?
        public var attachments: [Content.Attachment]?
        /// say: rich cards (one standalone, 2 to 10 a carousel) and buttons on the message.
        public var cards: [Content.Card]?
        public var actions: [Content.Action]?

        // waitFor: store the answer (the quick-reply payload when there is one, else the text).
        public var attribute: String?
        /// waitFor: the answer must match this regular expression (whole answer).
        public var pattern: String?
        /// waitFor: what to say when the answer does not match (the step then waits again).
        public var retryText: String?

        // assignAttribute
        public var name: String?
        /// assignAttribute: a literal or a template such as `{{attributes.first_name}}`.
        public var value: String?

        // branch
        /// `payload` (of the last answer), `attribute` (with `attribute`), or `keyword` (in the last answer's text).
        public var on: String?
        public var cases: [Case]?
        public var `default`: String?

        // tag, untag
        public var tag: String?

        // subscribe, unsubscribe: the channel (the conversation's channel when absent)
        public var channel: Channel?

        // handoff
        public var reason: String?

        // goto
        public var target: String?

        public init(id: String, type: Kind) {
            self.id = id
            self.type = type
        }
    }

    /// A branch case: `equals` (case-insensitive) or `matches` (a regular expression), and where to go.
    public struct Case: Codable, Sendable, Equatable {
        public var equals: String?
        public var matches: String?
        public var goto: String
    }
}
