import SwitchboardCore
import SwitchboardServer
import Testing

@Suite("Destination resolver")
struct DestinationResolverTests {
    @Test("a name that resolves to loopback is refused; allowed, it is pinned to the addresses checked")
    func names() async throws {
        await #expect(throws: DestinationResolver.Refusal.self) {
            _ = try await DestinationResolver(policy: DestinationPolicy()).pins(for: "http://localhost:9/bot")
        }
        let allowed = DestinationPolicy(allowed: [try #require(AddressRange("127.0.0.0/8")), try #require(AddressRange("::1/128"))])
        let pins = try await DestinationResolver(policy: allowed).pins(for: "http://user@localhost:9/bot?x=1")
        #expect(pins.count == 1)
        #expect(pins.first?.hasPrefix("localhost:9:") == true)
        #expect(pins.first?.contains("127.0.0.1") == true)
    }

    @Test("literal addresses are checked as written; URLs that are not http(s) with a host are refused")
    func literals() async throws {
        let resolver = DestinationResolver(policy: DestinationPolicy())
        for url in ["http://169.254.169.254/latest/meta-data/", "https://[::ffff:127.0.0.1]:8443/", "http://10.0.0.1:80/", "ftp://example.com/", "http:///x"] {
            await #expect(throws: DestinationResolver.Refusal.self, "\(url)") { _ = try await resolver.pins(for: url) }
        }
        #expect(try await resolver.pins(for: "https://8.8.8.8/hook").isEmpty)
    }
}
