import CurlHTTPClient
import Foundation
import Logging
import Synchronization
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing
import TwilioSMSAdapter

/// The outbox's rules around one provider call, on a real SQLite file with Twilio's adapter, a
/// scripted transport and a clock the test moves: no network, no sleeps.
@Suite("Outbox rules on a scripted transport")
struct OutboxRulesTests {
    final class Clock: Sendable {
        // Now, to the millisecond: ids are made from this clock, and the process's ids only go up.
        private let time = Mutex(Timestamp.date(millis: Timestamp.millis(Date())))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    struct Setup {
        let store: SQLiteStore
        let worker: OutboxWorker
        let transport: ScriptedTransport
        let clock: Clock
        let message: Message
        let directory: URL
    }

    static let recipient = "+15551230000"

    /// A queued agent reply to a contact who wrote by SMS, and a worker over `transport`.
    func setUp(_ transport: ScriptedTransport) async throws -> Setup {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        let clock = Clock()
        let inbound = InboundMessage(channel: .sms, senderAddress: Self.recipient, providerMessageId: "SM-in", content: Content(text: "hi"))
        guard case .stored(let first, _, _) = try await store.ingest(inbound, at: clock.now, bot: nil) else {
            throw Unexpected()
        }
        let message = try await store.enqueueOutbound(
            contactId: first.contactId, channel: .sms, recipient: Self.recipient, content: Content(text: "Your bike is ready"),
            author: .init(kind: .agent, name: "Grace"), at: clock.now)
        var settings = GatewayConfiguration.OutboxSettings()
        settings.pacing = [:]
        settings.retryBaseSeconds = 1
        settings.retryMaxSeconds = 1
        let twilio = TwilioSMSAdapter(settings: TwilioSettings(
            accountSid: "AC" + String(repeating: "0", count: 32), authToken: "token", from: "+15550001111", messagingServiceSid: nil,
            apiBaseURL: "https://api.twilio.test", statusCallbackURL: "https://gateway.test/webhooks/twilio/status"))
        let worker = OutboxWorker(
            store: store, adapters: [twilio], client: transport, settings: settings, logger: Logger(label: "outbox-rules"),
            now: { clock.now })
        return Setup(store: store, worker: worker, transport: transport, clock: clock, message: message, directory: directory)
    }

    struct Unexpected: Error {}

    static func accepted(sid: String) -> ScriptedTransport.Answer {
        .json(201, #"{"sid": "\#(sid)", "status": "queued", "to": "\#(recipient)"}"#)
    }

    @Test("a 429 with Retry-After holds the message that long, then it goes")
    func retryAfter() async throws {
        let transport = ScriptedTransport { _ in
            .json(429, #"{"code": 20429, "message": "Too Many Requests", "status": 429}"#, headers: [(name: "Retry-After", value: "30")])
        }
        let setup = try await setUp(transport)
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        await setup.worker.sendDue()
        #expect(transport.requests.count == 1)
        // Still in the outbox (claimed once: `sending` until an outcome is final).
        #expect(try await setup.store.message(id: setup.message.id)?.status == .sending)
        setup.clock.advance(29)
        await setup.worker.sendDue()
        #expect(transport.requests.count == 1)
        transport.script { _ in Self.accepted(sid: "SM" + String(repeating: "1", count: 32)) }
        setup.clock.advance(1)
        await setup.worker.sendDue()
        #expect(transport.requests.count == 2)
        let sent = try #require(try await setup.store.message(id: setup.message.id))
        #expect(sent.status == .sent && sent.providerMessageId == "SM" + String(repeating: "1", count: 32))
    }

    @Test("a timeout after the request left: the next attempt finds the message at Twilio and sends nothing again")
    func outcomeUnknownIsLookedUp() async throws {
        let transport = ScriptedTransport { _ in
            .failure(HTTPClientError(kind: .timeout, message: "no answer within 10 s", requestMayHaveBeenSent: true))
        }
        let setup = try await setUp(transport)
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        await setup.worker.sendDue()
        // Still in the outbox (claimed once: `sending` until an outcome is final).
        #expect(try await setup.store.message(id: setup.message.id)?.status == .sending)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let created = formatter.string(from: setup.clock.now)
        let found = "SM" + String(repeating: "2", count: 32)
        transport.script { request in
            guard request.method == "GET" else { return Self.accepted(sid: "SM" + String(repeating: "9", count: 32)) }
            return .json(200, """
                {"messages": [{"sid": "\(found)", "to": "\(Self.recipient)", "from": "+15550001111", "body": "Your bike is ready",
                  "num_media": "0", "direction": "outbound-api", "date_created": "\(created)", "status": "delivered"}],
                 "next_page_uri": null}
                """)
        }
        setup.clock.advance(2)
        await setup.worker.sendDue()
        #expect(transport.requests.map(\.method) == ["POST", "GET"])
        let adopted = try #require(try await setup.store.message(id: setup.message.id))
        #expect(adopted.status == .sent && adopted.providerMessageId == found)
    }

    @Test("a permanent refusal fails the message at once with Twilio's code")
    func permanentRefusal() async throws {
        let transport = ScriptedTransport { _ in
            .json(400, #"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#)
        }
        let setup = try await setUp(transport)
        defer { try? FileManager.default.removeItem(at: setup.directory) }
        await setup.worker.sendDue()
        setup.clock.advance(3_600)
        await setup.worker.sendDue()
        #expect(transport.requests.count == 1)
        let failed = try #require(try await setup.store.message(id: setup.message.id))
        #expect(failed.status == .failed && failed.error?.code == "twilio_21211")
    }
}
