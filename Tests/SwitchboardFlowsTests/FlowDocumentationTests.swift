import Foundation
import SwitchboardCore
import Testing
@testable import SwitchboardFlows

/// docs/flows.md's JSON examples are flows: each loads, validates, and the survey runs as the page shows.
@Suite("Flow documentation")
struct FlowDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func documentedFlows() throws -> [Flow] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/flows.md"), encoding: .utf8)
        var flows: [Flow] = []
        var block: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```json") {
                block = []
            } else if line.hasPrefix("```"), let lines = block {
                flows.append(try JSONDecoder().decode(Flow.self, from: Data(lines.joined(separator: "\n").utf8)))
                block = nil
            } else if block != nil {
                block?.append(line)
            }
        }
        return flows
    }

    @Test("every example is a valid flow")
    func examplesAreValid() throws {
        let flows = try documentedFlows()
        #expect(flows.map(\.name) == ["survey", "keywords"])
        for flow in flows { #expect(flow.problems() == [], "\(flow.name)") }
    }

    @Test("the survey runs as the page shows")
    func survey() throws {
        let bot = try FlowBot(flows: try documentedFlows(), defaultFlow: "survey")
        var chat = FlowBotTests.Conversation(bot: bot)
        let first = chat.send("hello")
        #expect(first.replies.map(\.text) == ["How was your delivery?"])
        #expect(first.replies.first?.quickReplies.map(\.title) == ["Great", "Not great"])
        let second = chat.send("Great", payload: "GOOD")
        #expect(second.replies.map(\.text) == ["Glad to hear it!"])
        #expect(chat.contact.attributes == ["delivery_rating": "GOOD"])
        #expect(second.effects.contains(.addTag("surveyed")))
    }

    @Test("the keywords flow hands off on 'agent' and subscribes on 'newsletter'")
    func keywords() throws {
        let bot = try FlowBot(flows: try documentedFlows(), defaultFlow: "keywords")
        var agent = FlowBotTests.Conversation(bot: bot)
        #expect(agent.send("can I talk to an agent please").effects == [.handoff(reason: "asked for an agent")])
        var news = FlowBotTests.Conversation(bot: bot)
        news.contact.name = "Lin"
        let turn = news.send("sign me up for the newsletter")
        #expect(turn.effects.contains(.subscribe(.sms)))
        #expect(turn.replies.map(\.text) == ["You're on the list, Lin."])
    }
}
