import Foundation
import SwitchboardCore

/// Runs the built-in flows. Pure: it reads the message, the contact and its position, and answers
/// with replies, effects and the new position, which the store commits with the message.
public struct FlowBot: Bot {
    public let flows: [String: Flow]
    /// The flow a contact without a position starts.
    public let defaultFlow: String
    /// A turn runs at most this many steps (a guard against `goto` loops).
    public static let maxStepsPerTurn = 200

    public init(flows: [Flow], defaultFlow: String) throws {
        self.flows = Dictionary(flows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard self.flows[defaultFlow] != nil else {
            throw FlowError(problems: ["bot.flow: no flow named '\(defaultFlow)' (have \(flows.map(\.name).sorted()))"])
        }
        self.defaultFlow = defaultFlow
    }

    /// Where a contact is in a flow between turns.
    struct Position: Codable, Equatable {
        var flow: String
        /// The `waitFor` step waiting for the contact's answer.
        var step: String
    }

    public func respond(to input: BotInput) -> BotTurn {
        var run = Run(contact: input.contact, message: input.message)
        if let text = input.state, let position = try? JSONDecoder().decode(Position.self, from: Data(text.utf8)),
           let flow = flows[position.flow], let index = flow.steps.firstIndex(where: { $0.id == position.step }) {
            // Answering the step we waited at.
            let step = flow.steps[index]
            let answer = input.message.content.postback?.payload ?? input.message.content.text ?? ""
            if let pattern = step.pattern, !Self.matches(answer, pattern) {
                run.replies.append(Content(text: step.retryText ?? "Sorry, I did not get that. Please try again."))
                return BotTurn(replies: run.replies, effects: [], state: text)
            }
            if let attribute = step.attribute {
                run.set(attribute, answer)
            }
            run.lastAnswer = input.message.content
            return run.go(from: Self.following(index, in: flow), in: flow, bot: self)
        }
        guard let flow = flows[defaultFlow] else { return BotTurn() }
        let start = flow.start.flatMap { id in flow.steps.firstIndex { $0.id == id } } ?? 0
        run.lastAnswer = input.message.content
        return run.go(from: start, in: flow, bot: self)
    }

    static func following(_ index: Int, in flow: Flow) -> Int? {
        if let next = flow.steps[index].next { return flow.steps.firstIndex { $0.id == next } }
        return index + 1 < flow.steps.count ? index + 1 : nil
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return (try? regex.wholeMatch(in: text)) != nil
    }

    /// One turn's progress through a flow.
    struct Run {
        var contact: Contact
        var message: Message
        var lastAnswer: Content?
        var replies: [Content] = []
        var effects: [BotEffect] = []

        mutating func set(_ name: String, _ value: String) {
            contact.attributes[name] = value
            effects.append(.setAttribute(name: name, value: value))
        }

        mutating func go(from start: Int?, in flow: Flow, bot: FlowBot) -> BotTurn {
            var index = start
            var steps = 0
            while let current = index, steps < FlowBot.maxStepsPerTurn {
                steps += 1
                let step = flow.steps[current]
                var jump: String?
                switch step.type {
                case .say:
                    var reply = Content(
                        text: step.text.map(render), attachments: step.attachments ?? [],
                        quickReplies: (step.quickReplies ?? []).map { .init(title: render($0.title), payload: $0.payload) })
                    reply.cards = step.cards ?? []
                    reply.actions = step.actions ?? []
                    replies.append(reply)
                case .waitFor:
                    let position = Position(flow: flow.name, step: step.id)
                    let state = (try? JSONEncoder().encode(position)).map { String(decoding: $0, as: UTF8.self) }
                    return BotTurn(replies: replies, effects: effects, state: state)
                case .assignAttribute:
                    if let name = step.name { set(name, render(step.value ?? "")) }
                case .branch:
                    jump = branch(step) ?? step.default
                case .tag:
                    if let tag = step.tag {
                        contact.tags.append(tag)
                        effects.append(.addTag(tag))
                    }
                case .untag:
                    if let tag = step.tag {
                        contact.tags.removeAll { $0 == tag }
                        effects.append(.removeTag(tag))
                    }
                case .subscribe:
                    effects.append(.subscribe(step.channel ?? message.channel))
                case .unsubscribe:
                    effects.append(.unsubscribe(step.channel ?? message.channel))
                case .handoff:
                    effects.append(.handoff(reason: step.reason.map(render)))
                    return BotTurn(replies: replies, effects: effects, state: nil)
                case .goto:
                    jump = step.target
                }
                if let jump {
                    index = flow.steps.firstIndex { $0.id == jump }
                } else {
                    index = FlowBot.following(current, in: flow)
                }
            }
            // The flow ended: the next message starts it again.
            return BotTurn(replies: replies, effects: effects, state: nil)
        }

        func branch(_ step: Flow.Step) -> String? {
            let subject: String
            switch step.on {
            case "payload": subject = lastAnswer?.postback?.payload ?? lastAnswer?.text ?? ""
            case "attribute": subject = contact.attributes[step.attribute ?? ""] ?? ""
            default: subject = lastAnswer?.text ?? ""
            }
            for branch in step.cases ?? [] {
                if let equals = branch.equals {
                    if step.on == "keyword" {
                        let words = subject.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
                        if words.contains(equals.lowercased()) { return branch.goto }
                    } else if subject.caseInsensitiveCompare(equals) == .orderedSame {
                        return branch.goto
                    }
                }
                if let pattern = branch.matches, FlowBot.matches(subject, pattern) { return branch.goto }
            }
            return nil
        }

        /// `{{attributes.x}}`, `{{contact.name}}`, `{{contact.phone}}`, `{{message.text}}`; unknown names render empty.
        func render(_ template: String) -> String {
            var output = ""
            var rest = Substring(template)
            while let open = rest.range(of: "{{") {
                output += rest[..<open.lowerBound]
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    output += rest[open.lowerBound...]
                    return output
                }
                let key = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                output += value(for: key)
                rest = rest[close.upperBound...]
            }
            return output + rest
        }

        func value(for key: String) -> String {
            if key.hasPrefix("attributes.") { return contact.attributes[String(key.dropFirst("attributes.".count))] ?? "" }
            switch key {
            case "contact.name": return contact.name ?? ""
            case "contact.phone": return contact.phone ?? ""
            case "message.text": return message.content.text ?? ""
            default: return ""
            }
        }
    }
}
