import Foundation
import SwitchboardCore
import Testing

/// Who of a broadcast's recipients gets a message, on which channel, and why the others do not.
@Suite("Broadcast recipient rule")
struct BroadcastRecipientRuleTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let all = Set(Channel.allCases)

    func candidate(
        last: Channel? = nil, phone: String? = nil, _ addresses: [BroadcastCandidate.Address], unsubscribed: Set<Channel> = []
    ) -> BroadcastCandidate {
        BroadcastCandidate(contactId: "ct_1", phone: phone, lastChannel: last, addresses: addresses, unsubscribed: unsubscribed)
    }

    @Test("the broadcast's channel, else the last used one, else the first address")
    func channelChoice() {
        let both = candidate(last: .messenger, phone: "+15550001111", [
            .init(channel: .sms, address: "+15550001111"), .init(channel: .messenger, address: "psid", windowOpenUntil: now + 60),
        ])
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(both, now: now) == .send(channel: .messenger, address: "psid"))
        #expect(BroadcastRecipientRule(channel: .sms, enabledChannels: all).decide(both, now: now)
            == .send(channel: .sms, address: "+15550001111"))
        // RCS goes to the phone without an RCS address of its own.
        #expect(BroadcastRecipientRule(channel: .rcs, enabledChannels: all).decide(both, now: now)
            == .send(channel: .rcs, address: "+15550001111"))
        let firstOnly = candidate([.init(channel: .webchat, address: "v_1")])
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(firstOnly, now: now) == .send(channel: .webchat, address: "v_1"))
    }

    @Test("skipped: no address, a channel not configured, no contact, unsubscribed, Messenger window closed or never opened")
    func skips() {
        let sms = candidate(last: .sms, [.init(channel: .sms, address: "+15550001111")])
        #expect(BroadcastRecipientRule(channel: .messenger, enabledChannels: all).decide(sms, now: now) == .skip(.noChannel))
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: [.messenger]).decide(sms, now: now) == .skip(.noChannel))
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(nil, now: now) == .skip(.noChannel))
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(candidate([]), now: now) == .skip(.noChannel))
        let stopped = candidate(last: .sms, [.init(channel: .sms, address: "+15550001111")], unsubscribed: [.sms])
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(stopped, now: now) == .skip(.unsubscribed))
        let closed = candidate(last: .messenger, [.init(channel: .messenger, address: "psid", windowOpenUntil: now - 1)])
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(closed, now: now) == .skip(.outsideMessagingWindow))
        let never = candidate(last: .messenger, [.init(channel: .messenger, address: "psid")])
        #expect(BroadcastRecipientRule(channel: nil, enabledChannels: all).decide(never, now: now) == .skip(.outsideMessagingWindow))
    }
}
