import Foundation
import SwitchboardCore
import Testing

@Suite("Status rules (pure, shared by every storage backend)")
struct StatusRulesTests {
    let busy = MessageError(code: "twilio_30003", message: "unreachable")

    @Test("a report moves a message forward only; failed is final; delivered does not become failed")
    func single() {
        #expect(StatusRules.applying(.init(status: .delivered), to: .sent, error: nil) == .init(status: .delivered))
        #expect(StatusRules.applying(.init(status: .sent), to: .delivered, error: nil) == nil)
        #expect(StatusRules.applying(.init(status: .read), to: .failed, error: busy) == nil)
        #expect(StatusRules.applying(.init(status: .failed, error: busy), to: .delivered, error: nil) == nil)
        #expect(StatusRules.applying(.init(status: .failed, error: busy), to: .sent, error: nil) == .init(status: .failed, error: busy))
        // A report without an error keeps the one the message had.
        #expect(StatusRules.applying(.init(status: .read), to: .delivered, error: busy) == .init(status: .read, error: busy))
    }

    @Test("a provider's report applied to a stored message: moved with its update time, or nothing to write")
    func reportOnMessage() {
        let then = Date(timeIntervalSince1970: 1_700_000_000)
        let now = then.addingTimeInterval(5)
        let sent = Message(
            id: "msg_1", contactId: "ct_1", channel: .sms, direction: .outbound, author: .init(kind: .bot), content: Content(text: "hi"),
            status: .sent, providerMessageId: "SM1", createdAt: then, updatedAt: then)
        let delivered = StatusRules.applying(StatusUpdate(channel: .sms, providerMessageId: "SM1", status: .delivered), to: sent, at: now)
        #expect(delivered?.status == .delivered)
        #expect(delivered?.updatedAt == now)
        #expect(delivered?.id == sent.id)
        let late = StatusRules.applying(StatusUpdate(channel: .sms, providerMessageId: "SM1", status: .sent), to: delivered ?? sent, at: now)
        #expect(late == nil)
        let failed = StatusRules.applying(StatusUpdate(channel: .sms, providerMessageId: "SM1", status: .failed, error: busy), to: sent, at: now)
        #expect(failed?.error == busy)
    }

    @Test("early reports in any order end at the furthest the rules allow")
    func early() {
        let reports: [StatusRules.Report] = [.init(status: .read), .init(status: .sent), .init(status: .delivered)]
        #expect(StatusRules.applying(early: reports, to: .sending, error: nil).status == .read)
        #expect(StatusRules.applying(early: [.init(status: .delivered), .init(status: .failed, error: busy)], to: .sending, error: nil)
            == .init(status: .delivered))
        #expect(StatusRules.applying(early: [], to: .sent, error: nil) == .init(status: .sent))
    }

    @Test("a watermark advances every earlier outbound status, never inbound or failed ones")
    func watermarks() {
        #expect(Set(StatusRules.statusesAdvanced(byWatermark: .read)) == [.queued, .sending, .sent, .delivered])
        #expect(Set(StatusRules.statusesAdvanced(byWatermark: .delivered)) == [.queued, .sending, .sent])
        #expect(!StatusRules.statusesAdvanced(byWatermark: .read).contains(.failed))
    }
}
