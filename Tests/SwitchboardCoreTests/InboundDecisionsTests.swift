import SwitchboardCore
import Testing

@Suite("Inbound decisions (pure, shared by every storage backend)")
struct InboundDecisionsTests {
    let policy = InboundPolicy(stopConfirmation: "bye", startConfirmation: "welcome back", helpText: "help text")

    @Test("STOP unsubscribes whatever the state; HELP answers only the subscribed; START resubscribes or goes to the bot")
    func keywords() {
        #expect(KeywordDecision.decide(channel: .sms, text: " stop ", subscribed: true, policy: policy) == .handled(setSubscribed: false, reply: "bye"))
        #expect(KeywordDecision.decide(channel: .sms, text: "QUIT", subscribed: false, policy: policy) == .handled(setSubscribed: false, reply: "bye"))
        #expect(KeywordDecision.decide(channel: .sms, text: "help", subscribed: true, policy: policy) == .handled(setSubscribed: nil, reply: "help text"))
        #expect(KeywordDecision.decide(channel: .sms, text: "INFO", subscribed: false, policy: policy) == .handled(setSubscribed: nil, reply: nil))
        #expect(KeywordDecision.decide(channel: .sms, text: "start", subscribed: false, policy: policy) == .handled(setSubscribed: true, reply: "welcome back"))
        #expect(KeywordDecision.decide(channel: .sms, text: "YES", subscribed: true, policy: policy) == .none)
        #expect(KeywordDecision.decide(channel: .sms, text: "stop please", subscribed: true, policy: policy) == .none)
        #expect(KeywordDecision.decide(channel: .messenger, text: "STOP", subscribed: true, policy: policy) == .none)
        #expect(KeywordDecision.decide(channel: .sms, text: "STOP", subscribed: true, policy: InboundPolicy()) == .handled(setSubscribed: false, reply: nil))
    }

    @Test("a turn's replies go out only while the channel is subscribed, counting this turn's own (un)subscribe effects")
    func botTurns() {
        let hello = Content(text: "hello")
        let turn = BotTurn(replies: [hello, Content()], effects: [.addTag("seen")])
        #expect(BotTurnPlan(turn: turn, channel: .sms, subscribed: true) == BotTurnPlan(turn: turn, channel: .sms, subscribed: true))
        let subscribed = BotTurnPlan(turn: turn, channel: .sms, subscribed: true)
        #expect(subscribed.replies == [hello])
        #expect(subscribed.droppedReplies == 0)
        #expect(subscribed.effects == [.addTag("seen")])
        let unsubscribed = BotTurnPlan(turn: turn, channel: .sms, subscribed: false)
        #expect(unsubscribed.replies.isEmpty)
        #expect(unsubscribed.droppedReplies == 1)
        #expect(unsubscribed.effects == [.addTag("seen")])
        let resubscribes = BotTurnPlan(turn: BotTurn(replies: [hello], effects: [.subscribe(.sms)]), channel: .sms, subscribed: false)
        #expect(resubscribes.replies == [hello])
        let leaves = BotTurnPlan(turn: BotTurn(replies: [hello], effects: [.unsubscribe(.sms)]), channel: .sms, subscribed: true)
        #expect(leaves.replies.isEmpty)
        let otherChannel = BotTurnPlan(turn: BotTurn(replies: [hello], effects: [.unsubscribe(.rcs)]), channel: .sms, subscribed: true)
        #expect(otherChannel.replies == [hello])
    }
}
