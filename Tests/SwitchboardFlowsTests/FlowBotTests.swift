import Foundation
import SwitchboardCore
import Testing
@testable import SwitchboardFlows

/// The shipped welcome flow, turn by turn, as pure functions.
@Suite("Flow engine")
struct FlowBotTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func welcome() throws -> FlowBot {
        try FlowBot(flows: Flow.loadDirectory(Self.root.appendingPathComponent("Config/flows").path), defaultFlow: "welcome")
    }

    /// Plays one turn and carries the contact's state forward as the store would.
    struct Conversation {
        let bot: FlowBot
        var contact = Contact(id: "ct_1", botEnabled: true)
        var state: String?

        mutating func send(_ text: String, payload: String? = nil) -> BotTurn {
            var content = Content(text: text)
            if let payload { content.postback = .init(title: text, payload: payload) }
            let message = Message(
                id: "msg_1", contactId: contact.id, channel: .sms, direction: .inbound, author: .init(kind: .contact),
                content: content, status: .received, createdAt: Date(), updatedAt: Date())
            let turn = bot.respond(to: BotInput(message: message, contact: contact, state: state))
            for effect in turn.effects {
                switch effect {
                case .setAttribute(let name, let value): contact.attributes[name] = value
                case .addTag(let tag): contact.tags.append(tag)
                case .handoff: contact.botEnabled = false
                default: break
                }
            }
            state = turn.state
            return turn
        }
    }

    @Test("the welcome flow asks the name, validates the order number, tags, and hands off")
    func welcomeFlow() throws {
        var chat = Conversation(bot: try welcome())
        #expect(chat.send("hi").replies.map(\.text) == ["Hi! I'm the Switchboard assistant. What's your first name?"])
        let named = chat.send("Ada")
        #expect(named.replies.first?.text == "Nice to meet you, Ada! Is this about an order?")
        #expect(named.replies.first?.quickReplies.map(\.payload) == ["ORDER", "OTHER"])
        #expect(chat.contact.attributes["first_name"] == "Ada")
        #expect(chat.send("Yes", payload: "ORDER").replies.first?.text == "What's the order number? It looks like A-1001.")
        #expect(chat.send("my order").replies.first?.text == "That doesn't look like an order number. It looks like A-1001.")
        #expect(chat.state != nil)
        let done = chat.send("A-1001")
        #expect(done.replies.first?.text == "Thanks, Ada. Order A-1001 noted: a colleague will take it from here.")
        #expect(done.effects.contains(.addTag("has-order")))
        #expect(done.effects.contains(.handoff(reason: "order A-1001")))
        #expect(chat.contact.attributes["order_id"] == "A-1001")
        #expect(chat.state == nil)
    }

    @Test("the other branch assigns a topic and hands off")
    func otherBranch() throws {
        var chat = Conversation(bot: try welcome())
        _ = chat.send("hello")
        _ = chat.send("Grace")
        let turn = chat.send("No", payload: "OTHER")
        #expect(turn.effects.contains(.setAttribute(name: "topic", value: "general")))
        #expect(turn.replies.first?.text == "No problem, Grace. A colleague will be with you shortly.")
        #expect(turn.effects.contains(.handoff(reason: "general question")))
    }

    @Test("a typed answer works where a quick reply was offered; a branch on keywords and attributes")
    func branches() throws {
        var flow = Flow(name: "b", steps: [])
        var ask = Flow.Step(id: "ask", type: .waitFor)
        ask.attribute = "answer"
        var route = Flow.Step(id: "route", type: .branch)
        route.on = "keyword"
        route.cases = [.init(equals: "refund", matches: nil, goto: "refund"), .init(equals: nil, matches: "(?i).*deliver.*", goto: "delivery")]
        route.default = "other"
        var refund = Flow.Step(id: "refund", type: .say)
        refund.text = "Refunds: {{attributes.answer}}"
        refund.next = "end"
        var delivery = Flow.Step(id: "delivery", type: .say)
        delivery.text = "Delivery"
        delivery.next = "end"
        var other = Flow.Step(id: "other", type: .say)
        other.text = "Other"
        let end = Flow.Step(id: "end", type: .handoff)
        flow.steps = [ask, route, refund, delivery, other, end]
        #expect(flow.problems().isEmpty)
        let bot = try FlowBot(flows: [flow], defaultFlow: "b")
        var chat = Conversation(bot: bot)
        _ = chat.send("start")
        #expect(chat.send("I want a REFUND now").replies.map(\.text) == ["Refunds: I want a REFUND now"])
        var second = Conversation(bot: bot)
        _ = second.send("start")
        #expect(second.send("where is my delivery?").replies.map(\.text) == ["Delivery"])
    }

    @Test("validation names the file's step and the problem")
    func validation() {
        var bad = Flow.Step(id: "x", type: .goto)
        bad.target = "nowhere"
        var pattern = Flow.Step(id: "y", type: .waitFor)
        pattern.pattern = "(unclosed"
        pattern.attribute = "9lives"
        let problems = Flow(name: "broken", start: "missing", steps: [bad, pattern, Flow.Step(id: "x", type: .say)]).problems()
        #expect(problems.contains("start: no step 'missing'"))
        #expect(problems.contains("step 'x': the id is used twice"))
        #expect(problems.contains("step 'x' (goto): target names no step 'nowhere'"))
        #expect(problems.contains { $0.hasPrefix("step 'y' (waitFor): pattern '(unclosed'") })
        #expect(problems.contains { $0.hasPrefix("step 'y' (waitFor): '9lives' is not a valid attribute name") })
        #expect(problems.contains("step 'x' (say): needs text, attachments or cards"))
        #expect(throws: FlowError.self) { try FlowBot(flows: [], defaultFlow: "welcome") }
    }

    @Test("a goto loop stops after the step limit")
    func loopGuard() throws {
        var loop = Flow.Step(id: "loop", type: .goto)
        loop.target = "loop"
        let bot = try FlowBot(flows: [Flow(name: "l", steps: [loop])], defaultFlow: "l")
        var chat = Conversation(bot: bot)
        #expect(chat.send("hi") == BotTurn())
    }
}
