import CurlHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing
import TwilioSMSAdapter

#if canImport(Glibc)
import Glibc
#endif

/// Sends whose outcome the gateway cannot know (the provider's answer came after the outbox's
/// timeout) are not sent twice where the provider allows it; a failure before the request left is
/// simply sent again. The duplicate windows that remain are in docs/reliability-providers.md.
@Suite("Provider idempotency")
struct ProviderIdempotencyTests {
    /// No bot, and a short provider timeout so that a delay fault beyond it runs fast.
    static let shortTimeout: @Sendable (inout GatewayConfiguration) -> Void = {
        $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none
        $0.outbox.requestTimeoutMilliseconds = 400
    }

    func queued(_ response: HTTPClientResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(response.status == 202, "answer: \(response.text)", sourceLocation: sourceLocation)
        return try #require(try response.json()["id"] as? String)
    }

    func calls(_ env: TestEnvironment, _ provider: String, _ method: String) async -> [RecordedRequest] {
        await env.providerRequests().filter { $0.provider == provider && $0.method == method }
    }

    @Test("Twilio answers after the outbox's timeout: the retry finds the first send in Twilio's list and adopts it; the text goes out once")
    func twilioTimeoutIsAdoptedNotResent() async throws {
        try await TestEnvironment.with(statusCallbacks: true, configure: Self.shortTimeout) { env in
            #expect(try await env.sender.sendSMS(from: "+15551237001", text: "hello").status == 200)
            let contact = try await env.firstContact()
            await env.fault(SimulatedFault(provider: "twilio", delayMilliseconds: 1_500))
            let queuedAt = Date()
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"your code is 4242"}"#))
            try await eventually("sent") { [.sent, .delivered].contains(try await env.gateway.store.message(id: id)?.status) }
            try await eventually("delivered", seconds: 5) { try await env.gateway.store.message(id: id)?.status == .delivered }
            // The first call's answer comes back 1.5 s late, and the simulator records the call
            // then: wait past it, so that a second send, had there been one, is counted too.
            let rest = 2.0 - Date().timeIntervalSince(queuedAt)
            if rest > 0 { try await Task.sleep(nanoseconds: UInt64(rest * 1_000_000_000)) }

            let sends = await calls(env, "twilio", "POST")
            #expect(sends.count == 1, "the customer got the text \(sends.count) times")
            #expect(await env.simulator.accepted.twilioCount() == 1)
            let lookups = await calls(env, "twilio", "GET")
            #expect(lookups.count >= 1)
            #expect(lookups.first?.formValue("To") == "+15551237001")
            #expect(lookups.first?.formValue("DateSent>") != nil)
            let message = try #require(try await env.gateway.store.message(id: id))
            #expect(message.providerMessageId == sends.first?.providerMessageId)
            #expect(message.providerMessageId?.hasPrefix("SM") == true)
            #expect(message.error == nil)
            #expect(try await env.count("outbox") == 0)
        }
    }

    @Test("RBM answers after the outbox's timeout: the retry reuses our messageId, RBM answers 409 ALREADY_EXISTS, and the message is sent")
    func rbmTimeoutIsAlreadyExists() async throws {
        try await TestEnvironment.with(configure: Self.shortTimeout) { env in
            await env.simulator.scenario.setPhone("+15551237002", rcsFeatures: ["RICHCARD_STANDALONE"])
            _ = try await env.sender.sendRCS(phone: "+15551237002", text: "hi")
            let contact = try await env.firstContact()
            await env.fault(SimulatedFault(provider: "rbm", delayMilliseconds: 1_500))
            let id = try queued(try await env.agentReply(contact.id, channel: "rcs", content: #"{"text":"rich once"}"#))
            try await eventually("sent") { try await env.gateway.store.message(id: id)?.status == .sent }
            try await eventually("the delayed answer", seconds: 5) { await calls(env, "rbm", "POST").contains { $0.responseStatus == 200 } }

            let sends = await calls(env, "rbm", "POST")
            #expect(sends.filter { $0.responseStatus == 200 }.count == 1, "RBM took \(sends.map(\.responseStatus))")
            #expect(sends.contains { $0.responseStatus == 409 })
            #expect(sends.allSatisfy { $0.path.hasSuffix("/agentMessages") })
            let message = try #require(try await env.gateway.store.message(id: id))
            #expect(message.status == .sent)
            #expect(message.providerMessageId == id)
            #expect(message.error == nil)
        }
    }

    @Test("Messenger takes no idempotency key: a timeout after Meta accepted sends the message again (the documented window)")
    func messengerWindowRemains() async throws {
        try await TestEnvironment.with(configure: Self.shortTimeout) { env in
            _ = try await env.sender.sendMessenger(psid: "PSID-TWICE", text: "hi")
            let contact = try await env.firstContact()
            await env.fault(SimulatedFault(provider: "messenger", delayMilliseconds: 1_500))
            let id = try queued(try await env.agentReply(contact.id, channel: "messenger", content: #"{"text":"twice, alas"}"#))
            try await eventually("sent") { try await env.gateway.store.message(id: id)?.status == .sent }
            try await eventually("the delayed answer", seconds: 5) { await calls(env, "messenger", "POST").count >= 2 }
            let sends = await calls(env, "messenger", "POST")
            #expect(sends.allSatisfy { $0.responseStatus == 200 })
            // The gateway keeps the id of a send it heard back from: the retry's, as the first
            // call's answer was held back (on a loaded machine the retry may time out as well and a
            // third call go out: any of the sends Meta accepted, never one it did not).
            let stored = try await env.gateway.store.message(id: id)?.providerMessageId
            #expect(stored != nil && sends.contains { $0.providerMessageId == stored })
        }
    }

    @Test("a connection refused before the request left is sent again without a lookup")
    func refusedIsResentWithoutLookup() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        try await TestEnvironment.with(configure: {
            Self.shortTimeout(&$0)
            // A refusal is immediate; a generous timeout keeps a loaded machine's slow first answer
            // from the simulator (which would rightly be looked up) out of this test.
            $0.outbox.requestTimeoutMilliseconds = 5_000
            $0.outbox.retryBaseSeconds = 0.5
            $0.outbox.retryMaxSeconds = 0.5
            $0.twilio?.apiBaseURL = "http://127.0.0.1:\(port)"
        }) { env in
            #expect(try await env.sender.sendSMS(from: "+15551237003", text: "hello").status == 200)
            let contact = try await env.firstContact()
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"knock knock"}"#))
            try await eventually("the refused attempt recorded") {
                try await env.count("outbox", where: "last_error LIKE 'provider_unreachable%'") == 1
            }
            #expect(try await env.count("outbox", where: "outcome_unknown_since IS NULL") == 1)
            // Twilio comes up where the gateway was calling.
            var quiet = Logger(label: "test")
            quiet.logLevel = .critical
            let twilio = Simulator(settings: SimulatorSettings(host: "127.0.0.1", port: port, accounts: TestEnvironment.accounts), logger: quiet)
            reserved.release()
            try await Self.running(twilio) {
                try await eventually("sent") { try await env.gateway.store.message(id: id)?.status == .sent }
                let received = await twilio.recorder.all()
                #expect(received.filter { $0.method == "GET" }.isEmpty, "no lookup after a refusal")
                #expect(received.filter { $0.method == "POST" }.count == 1)
                #expect(try await env.gateway.store.message(id: id)?.providerMessageId == received.first { $0.method == "POST" }?.providerMessageId)
            }
        }
    }

    /// A loopback port nothing listens on: bound (so connections to it are refused) but not
    /// listening, and held until `release()`, so that no other test's server is given it meanwhile
    /// (a port released at once was free for the kernel to hand to the next server started).
    final class ReservedPort: @unchecked Sendable {
        let port: Int
        private var fd: Int32

        init() throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TimedOut() }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let descriptor = fd
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
            }
            guard bound else {
                close(fd)
                throw TimedOut()
            }
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        /// Frees the port for the server that is to listen on it.
        func release() {
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }

        deinit { release() }
    }

    /// Runs a second simulator while `body` runs.
    static func running(_ simulator: Simulator, _ body: @Sendable () async throws -> Void) async throws {
        let up = PortBox()
        let app = simulator.buildApplication { channel in up.set(channel.localAddress?.port ?? -1) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        try await whileRunning(group, started: { _ = try await up.value() }, body)
    }
}
