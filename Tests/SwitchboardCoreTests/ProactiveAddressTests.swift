import SwitchboardCore
import Testing

@Suite("Proactive sends: addresses and idempotency keys")
struct ProactiveAddressTests {
    @Test("addresses are normalized per channel, or refused naming the problem", arguments: [
        ("sms", "+1 (555) 123-0000", "+15551230000"),
        ("rcs", "0044 20 7946 0958", "+442079460958"),
        ("sms", "5551230000", "invalid_address"),
        ("sms", "+1555abc", "invalid_address"),
        ("messenger", "1254459154682919", "1254459154682919"),
        ("messenger", "PSID-1", "invalid_address"),
        ("messenger", "", "invalid_address"),
        ("webchat", "v_01JD0000000000000000000000", "v_01JD0000000000000000000000"),
        ("webchat", "visitor 1", "invalid_address"),
        ("webchat", "ct_123", "invalid_address"),
    ])
    func addresses(channel: String, raw: String, expected: String) throws {
        let channel = try #require(Channel(rawValue: channel))
        switch ProactiveAddress.normalize(raw, channel: channel) {
        case .success(let address): #expect(address == expected)
        case .failure(let problem):
            #expect(problem.code == expected)
            #expect(!problem.message.isEmpty)
        }
    }

    @Test("idempotency keys: bare or quoted, visible ASCII, at most 255")
    func keys() throws {
        #expect(try ProactiveAddress.idempotencyKey("8e03978e-40d5-43e8-bc93-6894a57f9324").get() == "8e03978e-40d5-43e8-bc93-6894a57f9324")
        #expect(try ProactiveAddress.idempotencyKey(#""order-42""#).get() == "order-42")
        #expect(try ProactiveAddress.idempotencyKey(String(repeating: "k", count: 255)).get().count == 255)
        for bad in ["", "\"\"", "has space", String(repeating: "k", count: 256), "caf\u{E9}", "a\"b"] {
            #expect(throws: MessageError.self) { try ProactiveAddress.idempotencyKey(bad).get() }
        }
    }

    @Test("the fingerprint ignores nothing that matters and nothing else")
    func fingerprint() throws {
        let content = Content(text: "Your order shipped")
        let base = try ProactiveAddress.fingerprint(channel: .sms, address: "+15551230000", content: content, author: .init(kind: .system))
        #expect(base == (try ProactiveAddress.fingerprint(channel: .sms, address: "+15551230000", content: content, author: .init(kind: .system))))
        #expect(base.count == 64)
        #expect(base != (try ProactiveAddress.fingerprint(channel: .rcs, address: "+15551230000", content: content, author: .init(kind: .system))))
        #expect(base != (try ProactiveAddress.fingerprint(channel: .sms, address: "+15551230001", content: content, author: .init(kind: .system))))
        #expect(base != (try ProactiveAddress.fingerprint(channel: .sms, address: "+15551230000", content: Content(text: "other"), author: .init(kind: .system))))
        #expect(base != (try ProactiveAddress.fingerprint(channel: .sms, address: "+15551230000", content: content, author: .init(kind: .agent))))
    }
}
