import Foundation
import SwitchboardCore
import SwitchboardServer
import Testing

@Suite("Send pacing and provider pauses")
struct SendPacerTests {
    @Test("a channel paused by a provider's Retry-After is paused until then, the longest pause wins, other channels are not")
    func pauses() {
        let start = Date(timeIntervalSince1970: 1_000)
        let pacer = SendPacer(pacing: ["sms": .init(perSecond: 1, burst: 5)], now: start)
        pacer.pause(.sms, until: start.addingTimeInterval(5))
        pacer.pause(.sms, until: start.addingTimeInterval(2))
        #expect(pacer.pausedChannels(now: start) == [.sms])
        #expect(pacer.pausedChannels(now: start.addingTimeInterval(4.9)) == [.sms])
        #expect(pacer.pausedChannels(now: start.addingTimeInterval(5)).isEmpty)
        pacer.pause(.messenger, until: start.addingTimeInterval(10))
        #expect(pacer.pausedChannels(now: start.addingTimeInterval(6)) == [.messenger])
    }

    @Test("tokens: a burst, then the rate")
    func tokens() {
        let start = Date(timeIntervalSince1970: 1_000)
        let pacer = SendPacer(pacing: ["sms": .init(perSecond: 2, burst: 3)], now: start)
        #expect(pacer.take(10, for: .sms, now: start) == 3)
        #expect(pacer.take(10, for: .sms, now: start.addingTimeInterval(1)) == 2)
        #expect(pacer.take(10, for: .messenger, now: start) == 10)
    }
}
