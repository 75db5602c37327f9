import Foundation
import SwitchboardCore
import Testing

@Suite("Sortable identifiers")
struct SortableIDTests {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    @Test("prefix, 26 Crockford base-32 characters, time in the first 10")
    func layout() {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let id = SortableID.make(prefix: "msg_")
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(id.hasPrefix("msg_"))
        let body = Array(id.dropFirst(4))
        #expect(body.count == 26)
        #expect(body.allSatisfy { Self.alphabet.contains($0) })
        let millis = body.prefix(10).reduce(UInt64(0)) { $0 * 32 + UInt64(Self.alphabet.firstIndex(of: $1)!) }
        // The generator never goes back, and other tests in this process ask for ids ahead of
        // time (one second ahead below; end-to-end tests run the gateway on a test clock advanced
        // by days to cross the Messenger window).
        #expect(millis >= before && millis <= after + 10 * 86_400_000)
    }

    @Test("identifiers from one process increase strictly, even within one millisecond")
    func monotonic() {
        let date = Date()
        let ids = (0..<5000).map { _ in SortableID.make(prefix: "ct_", now: date) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        let later = SortableID.make(prefix: "ct_", now: date.addingTimeInterval(1))
        #expect(later > ids.last!)
    }
}
