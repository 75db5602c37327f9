import SwitchboardCore
import Testing

@Suite("Destination policy (SSRF)")
struct DestinationPolicyTests {
    func bytes(_ text: String) throws -> [UInt8] {
        try #require(IPAddress.parse(text), "\(text)")
    }

    @Test("special addresses are refused, IPv4 and IPv6, embedded IPv4 judged by what it carries", arguments: [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
        "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "fc00::2", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:0001::", "2001:db8::1", "[::1]",
    ])
    func refused(address: String) throws {
        #expect(DestinationPolicy().refusal(for: try bytes(address)) != nil, "\(address)")
    }

    @Test("public addresses pass", arguments: ["8.8.8.8", "172.32.0.1", "142.250.74.46", "2a00:1450:4001:82a::200e", "::ffff:8.8.8.8", "2606:4700::1111"])
    func allowed(address: String) throws {
        #expect(DestinationPolicy().refusal(for: try bytes(address)) == nil, "\(address)")
    }

    @Test("an allowed range lets its addresses through, mapped forms included, and nothing else")
    func allowList() throws {
        let policy = DestinationPolicy(allowed: [try #require(AddressRange("127.0.0.0/8")), try #require(AddressRange("fd00::/8"))])
        #expect(policy.refusal(for: try bytes("127.0.0.1")) == nil)
        #expect(policy.refusal(for: try bytes("::ffff:127.0.0.2")) == nil)
        #expect(policy.refusal(for: try bytes("fd12::1")) == nil)
        #expect(policy.refusal(for: try bytes("10.0.0.1")) != nil)
        #expect(policy.refusal(for: try bytes("::1")) != nil)
    }

    @Test("addresses and ranges parse strictly", arguments: [
        ("1.2.3.4", true), ("01.2.3.4", false), ("1.2.3", false), ("256.1.1.1", false), ("0x7f.0.0.1", false), ("1.2.3.4.5", false),
        ("::", true), ("1::2::3", false), ("2001:db8::1", true), ("::ffff:1.2.3.4", true), ("12345::", false), ("fe80::1%eth0", false),
        ("localhost", false), ("", false),
    ])
    func parsing(text: String, valid: Bool) {
        #expect((IPAddress.parse(text) != nil) == valid, "\(text)")
    }

    @Test("CIDR blocks")
    func ranges() throws {
        let block = try #require(AddressRange("10.0.0.0/8"))
        #expect(block.contains(try bytes("10.255.0.1")))
        #expect(!block.contains(try bytes("11.0.0.1")))
        #expect(!block.contains(try bytes("::ffff:10.0.0.1")))
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("fd00::/129") == nil)
        #expect(AddressRange("10.0.0.0/x") == nil)
        #expect(AddressRange("1.2.3.4")?.prefixLength == 32)
        #expect(try #require(AddressRange("172.16.0.0/12")).contains(try bytes("172.20.1.1")))
    }
}
