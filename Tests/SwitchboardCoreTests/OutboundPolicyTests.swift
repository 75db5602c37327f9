import Foundation
import SwitchboardCore
import Testing

@Suite("Outbound policy")
struct OutboundPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("Messenger window: RESPONSE inside 24 h, HUMAN_AGENT for agents up to 7 days where allowed, else refused")
    func messengerWindow() {
        let lastMessage = now.addingTimeInterval(-3600)
        let open = lastMessage.addingTimeInterval(24 * 3600)
        #expect(OutboundPolicy.messengerWindow(now: now, windowOpenUntil: open, author: .bot, allowHumanAgentTag: false) == .response)
        let later = now.addingTimeInterval(2 * 24 * 3600)
        #expect(OutboundPolicy.messengerWindow(now: later, windowOpenUntil: open, author: .agent, allowHumanAgentTag: true) == .humanAgentTag)
        #expect(OutboundPolicy.messengerWindow(now: later, windowOpenUntil: open, author: .agent, allowHumanAgentTag: false) == .refused)
        #expect(OutboundPolicy.messengerWindow(now: later, windowOpenUntil: open, author: .bot, allowHumanAgentTag: true) == .refused)
        let weekLater = lastMessage.addingTimeInterval(7 * 24 * 3600 + 1)
        #expect(OutboundPolicy.messengerWindow(now: weekLater, windowOpenUntil: open, author: .agent, allowHumanAgentTag: true) == .refused)
        #expect(OutboundPolicy.messengerWindow(now: now, windowOpenUntil: nil, author: .agent, allowHumanAgentTag: true) == .refused)
    }

    @Test("content checks: empty, too long per channel, quick replies need title and payload")
    func content() {
        #expect(OutboundPolicy.contentProblem(Content(), channel: .sms)?.code == "empty_content")
        #expect(OutboundPolicy.contentProblem(Content(text: String(repeating: "x", count: 1601)), channel: .sms)?.code == "content_too_long")
        #expect(OutboundPolicy.contentProblem(Content(text: String(repeating: "x", count: 1601)), channel: .messenger) == nil)
        #expect(OutboundPolicy.contentProblem(Content(text: String(repeating: "x", count: 2001)), channel: .messenger)?.code == "content_too_long")
        #expect(OutboundPolicy.contentProblem(Content(text: "a", quickReplies: [.init(title: "", payload: "x")]), channel: .rcs)?.code == "invalid_quick_reply")
        #expect(OutboundPolicy.contentProblem(Content(attachments: [.init(kind: .image, url: "https://x/y.png")]), channel: .sms) == nil)
    }

    @Test("SMS keywords are whole-message and case-insensitive")
    func keywords() {
        #expect(OptOutKeyword.classify(" stop ") == .stop)
        #expect(OptOutKeyword.classify("StopAll") == .stop)
        #expect(OptOutKeyword.classify("please stop") == nil)
        #expect(OptOutKeyword.classify("UNSTOP") == .start)
        #expect(OptOutKeyword.classify("info") == .help)
    }

    @Test("a bare number picks the quick reply it names")
    func numbered() {
        let choices = [Content.QuickReply(title: "Yes", payload: "YES"), .init(title: "No", payload: "NO")]
        #expect(NumberedChoice.postback(for: "2", among: choices) == .init(title: "No", payload: "NO"))
        #expect(NumberedChoice.postback(for: " 1 ", among: choices) == .init(title: "Yes", payload: "YES"))
        #expect(NumberedChoice.postback(for: "3", among: choices) == nil)
        #expect(NumberedChoice.postback(for: "one", among: choices) == nil)
    }
}
