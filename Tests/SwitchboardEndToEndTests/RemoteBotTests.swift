import CurlHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Synchronization
import Testing

/// An external bot on a loopback server of the test's own.
@Suite("External HTTP bot")
struct RemoteBotTests {
    static let secret = "a-bot-secret-of-length"

    /// Runs a bot server whose answer `reply` decides, and `body` with its URL; records what it got.
    func withBot(
        delayMilliseconds: Int = 0, _ reply: @escaping @Sendable ([String: Any]) -> (Int, String),
        _ body: @Sendable (String, BotLog) async throws -> Void
    ) async throws {
        let log = BotLog()
        let router = Router()
        router.post("bot") { request, _ -> Response in
            var request = request
            let bytes = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let legacy = request.headers[HTTPField.Name("X-Switchboard-Signature")!] ?? ""
            // Standard Webhooks, recomputed here from the specification: base64 HMAC-SHA256 over
            // "id.timestamp.body", the id being the message's.
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let timestamp = request.headers[HTTPField.Name("webhook-timestamp")!] ?? ""
            let signature = request.headers[HTTPField.Name("webhook-signature")!] ?? ""
            let expected = "v1," + Data(HMAC<SHA256>.authenticationCode(
                for: Array("\(id).\(timestamp).".utf8) + bytes, using: SymmetricKey(data: Array(Self.secret.utf8)))).base64EncodedString()
            let messageId = ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any])
                .flatMap { $0["message"] as? [String: Any] }?["id"] as? String
            let fresh = Int64(timestamp).map { abs(Double($0) - Date().timeIntervalSince1970) < 60 } ?? false
            log.record(valid: legacy == "sha256=" + HMACSignature.sha256Hex(key: Self.secret, message: bytes)
                && signature == expected && id == messageId && fresh)
            if delayMilliseconds > 0 { try await Task.sleep(nanoseconds: UInt64(delayMilliseconds) * 1_000_000) }
            let json = (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
            let (status, text) = reply(json)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "bot")))
        try await whileRunning(group, started: {
            for _ in 0..<500 where port.withLock({ $0 }) == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        }) {
            try await body("http://127.0.0.1:\(try #require(port.withLock { $0 }))/bot", log)
        }
    }

    final class BotLog: Sendable {
        private let calls = Mutex<[Bool]>([])
        func record(valid: Bool) { calls.withLock { $0.append(valid) } }
        var signatures: [Bool] { calls.withLock { $0 } }
    }

    /// The test's bot listens on loopback, which the gateway refuses unless allowed (SSRF).
    func configure(
        _ url: String, timeout: Int = 2_000, attempts: Int = 3, allowPrivate: [String] = ["127.0.0.0/8"]
    ) -> @Sendable (inout GatewayConfiguration) -> Void {
        { configuration in
            configuration.bot.kind = .http
            configuration.bot.http = .init(url: url, secret: Self.secret, timeoutMilliseconds: timeout, maxAttempts: attempts)
            configuration.allowPrivateURLs = allowPrivate
        }
    }

    @Test("a bot URL on loopback is refused without SWITCHBOARD_ALLOW_PRIVATE_URLS: nothing reaches it, the message stays for agents")
    func loopbackRefused() async throws {
        try await withBot({ _ in (200, #"{"replies":[{"text":"should not happen"}]}"#) }) { url, log in
            try await TestEnvironment.with(configure: configure(url, attempts: 1, allowPrivate: [])) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendSMS(from: "+15551234003", text: "hello")
                try await eventually("given up") { try await env.count("bot_deliveries") == 0 }
                #expect(log.signatures.isEmpty)
                #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
                #expect(try await env.count("messages", where: "direction = 'outbound'") == 0)
            }
        }
    }

    @Test("the bot gets the signed message and contact; its replies, attributes, tags and handoff are applied")
    func answers() async throws {
        try await withBot({ json in
            let text = ((json["message"] as? [String: Any])?["content"] as? [String: Any])?["text"] as? String ?? ""
            let phone = (json["contact"] as? [String: Any])?["phone"] as? String ?? ""
            return (200, #"{"replies":[{"text":"Bot heard \#(text) from \#(phone)"}],"attributes":{"intent":"greeting"},"tags":["bot-seen"],"handoff":true}"#)
        }) { url, log in
            try await TestEnvironment.with(configure: configure(url)) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendSMS(from: "+15551234000", text: "hello bot")
                try await eventually("the bot's reply is sent") {
                    await env.providerRequests().contains { $0.formValue("Body") == "Bot heard hello bot from +15551234000" }
                }
                #expect(log.signatures == [true])
                let contact = try await env.firstContact()
                #expect(contact.attributes["intent"] == "greeting")
                #expect(contact.tags == ["bot-seen"])
                #expect(contact.botEnabled == false)
                #expect(try await env.count("bot_deliveries") == 0)
            }
        }
    }

    @Test("a bot that answers 202 replies later through the API as author bot")
    func repliesLater() async throws {
        try await withBot({ _ in (202, "") }) { url, _ in
            try await TestEnvironment.with(configure: configure(url)) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendSMS(from: "+15551234001", text: "question")
                try await eventually("delivered to the bot") { try await env.count("bot_deliveries") == 0 }
                let contact = try await env.firstContact()
                let response = try await env.api(
                    "POST", "/api/v1/contacts/\(contact.id)/messages", body: #"{"content":{"text":"Later answer"},"author":{"kind":"bot"}}"#)
                #expect(response.status == 202)
                #expect(((try response.json())["author"] as? [String: Any])?["kind"] as? String == "bot")
            }
        }
    }

    @Test("a slow bot times out: retried, then given up, and the inbound message stays stored")
    func slowBot() async throws {
        try await withBot(delayMilliseconds: 800, { _ in (200, #"{"replies":[{"text":"too late"}]}"#) }) { url, log in
            try await TestEnvironment.with(configure: configure(url, timeout: 200, attempts: 2)) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendSMS(from: "+15551234002", text: "anyone?")
                try await eventually("given up") { try await env.count("bot_deliveries") == 0 && log.signatures.count == 2 }
                #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
                #expect(try await env.count("messages", where: "direction = 'outbound'") == 0)
            }
        }
    }
}
