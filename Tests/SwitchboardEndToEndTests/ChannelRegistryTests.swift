import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import Testing

/// A provider channel is one registration: its environment keys, its webhook endpoints and its
/// handshake come from its adapter's target, and the gateway iterates over them.
@Suite("Channel registry")
struct ChannelRegistryTests {
    @Test("each provider channel is enabled by its own section's environment keys alone")
    func enabledByItsOwnKeys() throws {
        let environment = ProviderAccounts.random().environment(apiBaseURL: "http://127.0.0.1:9")
        let providers = GatewayConfiguration.providerChannels
        #expect(Set(providers.map(\.channel)) == [.sms, .rcs, .messenger])
        #expect(Set(providers.map(\.key)) == ["twilio", "rbm", "messenger"])
        // Every variable the simulator's credentials set belongs to exactly one channel's section.
        for key in environment.keys {
            #expect(providers.filter { $0.environmentKeys.contains(key) }.count == 1, "\(key)")
        }
        for provider in providers {
            let own = environment.filter { provider.environmentKeys.contains($0.key) }
            let configuration = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: own)
            let enabled = configuration.channelStates.filter { $0.disabledBecause == nil }.map(\.channel)
            #expect(Set(enabled) == [provider.channel, .webchat], "\(provider.key)")
        }
    }

    @Test("every registered webhook endpoint answers, built once per gateway: unsigned events are 403, a wrong handshake token is 403, a disabled channel's endpoints are 404 channel_disabled")
    func endpoints() async throws {
        try await TestEnvironment.with { env in
            let channels = env.gateway.channels
            #expect(Set(channels.map(\.channel)) == [.sms, .rcs, .messenger])
            #expect(channels.allSatisfy { $0.adapter != nil })
            let endpoints = channels.flatMap(\.webhookEndpoints)
            #expect(endpoints.map(\.description).sorted() == [
                "GET /webhooks/messenger", "POST /webhooks/messenger", "POST /webhooks/rbm",
                "POST /webhooks/twilio/sms", "POST /webhooks/twilio/status",
            ])
            for endpoint in endpoints {
                let response: HTTPClientResponse
                if endpoint.method == "GET" {
                    response = try await env.raw(
                        "GET", "/\(endpoint.path)?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42")
                } else {
                    let json = endpoint.path.contains("twilio") ? "application/x-www-form-urlencoded" : "application/json"
                    let body = endpoint.path.contains("twilio") ? "From=%2B15551234567&Body=hi"
                        : endpoint.path.contains("rbm") ? #"{"clientToken":"wrong","secret":"s"}"# : #"{"object":"page","entry":[]}"#
                    response = try await env.raw("POST", "/\(endpoint.path)", headers: [(name: "Content-Type", value: json)], body: Array(body.utf8))
                }
                #expect(response.status == 403, "\(endpoint)")
                #expect(response.text.contains(#""code":"bad_signature""#), "\(endpoint): \(response.text)")
            }
            #expect(try await env.count("messages") == 0)
        }
        try await TestEnvironment.with(configure: { $0.messenger = nil }) { env in
            #expect(env.gateway.channels.first { $0.channel == .messenger }?.adapter == nil)
            #expect(!env.gateway.enabledChannels.contains(.messenger))
            for method in ["GET", "POST"] {
                let response = try await env.raw(method, "/webhooks/messenger")
                #expect(response.status == 404)
                #expect(response.text.contains(#""code":"channel_disabled""#))
            }
        }
    }

    @Test("the simulator's accounts are the channels' own sections: every registered channel has one, they round-trip through the environment, and --dev fills them all")
    func simulatorAccounts() throws {
        let channels = Set(GatewayConfiguration.providerChannels.map(\.channel))
        #expect(ProviderAccounts.published.channels == channels)
        #expect(ProviderAccounts.published.sections.count == channels.count)

        // What the CLI hands `serve` as environment variables is what the gateway then holds.
        let random = ProviderAccounts.random()
        #expect(random.channels == channels)
        #expect(Set(random.secrets).isDisjoint(with: ProviderAccounts.published.secrets))
        let loaded = try GatewayConfiguration.load(
            path: "Config/switchboard.json", environment: random.environment(apiBaseURL: "http://127.0.0.1:9"))
        #expect(loaded.providerAccounts == random.pointed(at: "http://127.0.0.1:9"))
        #expect(loaded.providerAccounts != random)
        #expect(loaded.publishedSecretProblems.isEmpty)

        // A gateway with no provider section at all: --dev gives every registered channel the
        // simulator's published account, pointed at the simulator, and each is then enabled.
        var empty = try GatewayConfiguration.load(path: "Config/switchboard.json", environment: [:])
        #expect(empty.providerAccounts.channels.isEmpty)
        #expect(Set(empty.fillWithSimulatorCredentials()) == channels)
        #expect(empty.providerAccounts == ProviderAccounts.published.pointed(at: empty.simulatorURL))
        #expect(empty.channelStates.allSatisfy { $0.disabledBecause == nil })
        #expect(empty.publishedSecretProblems.count == ProviderAccounts.published.secrets.count)

        // Setting the accounts replaces the sections: a channel left out has none.
        var partial = empty
        var accounts = empty.providerAccounts
        accounts[GatewayConfiguration.MessengerApp.self] = nil
        partial.providerAccounts = accounts
        #expect(partial.messenger == nil && partial.twilio == empty.twilio && partial.rbm == empty.rbm)
    }
}
