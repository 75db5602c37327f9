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
