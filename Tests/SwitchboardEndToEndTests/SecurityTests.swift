import CurlHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import Synchronization
import Testing

/// What a stranger can do to a live gateway, tried over real HTTP (docs/security.md).
@Suite("Security: hostile requests")
struct SecurityTests {
    @Test("a signed Messenger event with timestamp 1e22 (or a postback without mid) is acknowledged, dropped, and the gateway keeps serving")
    func impossibleTimestamps() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            let message: [String: Any] = ["sender": ["id": "P1"], "recipient": ["id": "1"], "timestamp": 1e22, "message": ["mid": "m_big", "text": "boom"]]
            let postback: [String: Any] = ["sender": ["id": "P1"], "recipient": ["id": "1"], "timestamp": 1e22, "postback": ["title": "Go", "payload": "GO"]]
            let delivery: [String: Any] = ["sender": ["id": "P1"], "recipient": ["id": "1"], "delivery": ["watermark": 1e22]]
            for _ in 0..<3 {
                #expect(try await env.sender.postMessenger(events: [message, postback, delivery]).status == 200)
            }
            #expect(try await env.count("messages") == 0)
            #expect(try await env.sender.sendMessenger(psid: "P1", text: "still here").status == 200)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
        }
    }

    @Test("attachment, photo and location values are refused at the API with 422 naming the field")
    func apiURLs() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551239000", text: "hi")
            let contact = try await env.firstContact()
            let script = try await env.agentReply(contact.id, content: #"{"text":"see","attachments":[{"kind":"file","url":"javascript:alert(1)"}]}"#)
            #expect(script.status == 422)
            #expect(script.text.contains(#""code":"invalid_url""#))
            #expect(script.text.contains("attachments[0].url"))
            let location = try await env.agentReply(contact.id, content: #"{"location":{"latitude":1e300,"longitude":0}}"#)
            #expect(location.status == 422)
            for photo in ["//evil.example/p.png", "javascript:alert(1)", "/relative.png", "http://plain.example/p.png"] {
                let patch = try await env.api("PATCH", "/api/v1/contacts/\(contact.id)", body: #"{"photoUrl":"\#(photo)"}"#)
                #expect(patch.status == 422, "\(photo)")
            }
            #expect(try await env.api("PATCH", "/api/v1/contacts/\(contact.id)", body: #"{"photoUrl":"https://cdn.example.com/p.png"}"#).status == 200)
        }
    }

    @Test("a form of 300 parameters is 413 and JSON nested 100 deep is 400, before any signature is checked")
    func shapesBeforeSignatures() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            let form = (0..<300).map { "p\($0)=x" }.joined(separator: "&")
            let many = try await env.raw(
                "POST", "/webhooks/twilio/sms", headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "X-Twilio-Signature", value: "x")],
                body: Array(form.utf8))
            #expect(many.status == 413)
            #expect(many.text.contains("too_many_parameters"))
            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            let nested = try await env.raw(
                "POST", "/webhooks/rbm", headers: [(name: "Content-Type", value: "application/json")], body: Array(deep.utf8))
            #expect(nested.status == 400)
            let unsigned = try await env.raw(
                "POST", "/webhooks/twilio/sms", headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: Array("From=%2B1555&Body=hi&MessageSid=SM1".utf8))
            #expect(unsigned.status == 403)
        }
    }

    @Test("/metrics takes the API token unless configured public")
    func metricsToken() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            #expect(try await env.raw("GET", "/metrics").status == 401)
        }
        try await TestEnvironment.with(configure: { $0.metricsPublic = true }) { (env: TestEnvironment) async throws in
            #expect(try await env.raw("GET", "/metrics").status == 200)
        }
    }

    @Test("a silent or slowly-typing connection is closed at the header deadline")
    func headerDeadline() async throws {
        // The idle timeout (60 s) is far away: a close within seconds is the header deadline's.
        try await TestEnvironment.with(configure: { $0.limits.headerTimeoutSeconds = 0.5 }) { (env: TestEnvironment) async throws in
            let silent = try RawConnection(port: try env.gatewayPort)
            let slow = try RawConnection(port: try env.gatewayPort)
            slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            #expect(await silent.secondsUntilClosed(limit: 10) != nil)
            #expect(await slow.secondsUntilClosed(limit: 10) != nil)
            #expect(try await env.raw("GET", "/healthz").status == 200)
        }
    }

    @Test("past the connection ceiling, new connections are closed as they arrive; slots are given back")
    func connectionCeiling() async throws {
        // The header deadline (60 s here) is far away: a close within seconds is the ceiling's.
        try await TestEnvironment.with(configure: {
            $0.limits.headerTimeoutSeconds = 60
            $0.limits.maxConnections = 2
        }) { (env: TestEnvironment) async throws in
            let port = try env.gatewayPort
            let first = try RawConnection(port: port)
            let second = try RawConnection(port: port)
            try await eventually("both connections are counted") { env.gateway.connectionGuard.connections.count == 2 }
            let third = try RawConnection(port: port)
            #expect(await third.secondsUntilClosed(limit: 10) != nil)
            #expect(await first.secondsUntilClosed(limit: 0.3) == nil)
            first.hangUp()
            // Until the slot is back, a request may itself be turned away (connection closed).
            try await eventually("a slot is free again") { (try? await env.raw("GET", "/healthz"))?.status == 200 }
            second.hangUp()
        }
    }

    @Test("an idle keep-alive connection is closed after the idle timeout")
    func idleTimeout() async throws {
        try await TestEnvironment.with(configure: { $0.limits.idleTimeoutSeconds = 0.5 }) { (env: TestEnvironment) async throws in
            let connection = try RawConnection(port: try env.gatewayPort)
            connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await connection.secondsUntilClosed(limit: 5) != nil)
        }
    }

    @Test("event streams beyond the limit get 429 with Retry-After")
    func eventStreamLimit() async throws {
        try await TestEnvironment.with(configure: { $0.limits.eventStreams = 1 }) { (env: TestEnvironment) async throws in
            let first = try RawConnection(port: try env.gatewayPort)
            first.send("GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(env.apiToken)\r\n\r\n")
            try await eventually("the first stream is open") { env.gateway.eventStreams.count == 1 }
            let second = try await env.api("GET", "/api/v1/events")
            #expect(second.status == 429)
            #expect(second.header("Retry-After") == "10")
            #expect(second.text.contains("too_many_event_streams"))
        }
    }

    @Test("web-chat sessions per client address are rate limited with 429 and Retry-After")
    func sessionRate() async throws {
        try await TestEnvironment.with(configure: { $0.limits.webChatSessionsPerMinute = 2 }) { (env: TestEnvironment) async throws in
            #expect(try await env.raw("POST", "/webchat/sessions").status == 201)
            #expect(try await env.raw("POST", "/webchat/sessions").status == 201)
            let third = try await env.raw("POST", "/webchat/sessions")
            #expect(third.status == 429)
            #expect(Int(third.header("Retry-After") ?? "") ?? 0 >= 1)
            #expect(third.text.contains(#""code":"rate_limited""#))
        }
    }
}

/// Web chat as an anonymous visitor would abuse it.
@Suite("Security: web-chat visitors")
struct WebChatAbuseTests {
    struct Session: Decodable {
        var visitorId: String
        var token: String
    }

    func session(_ env: TestEnvironment, renewing token: String? = nil) async throws -> Session {
        let body = token.map { #"{"token":"\#($0)"}"# } ?? ""
        let response = try await env.raw(
            "POST", "/webchat/sessions", headers: [(name: "Content-Type", value: "application/json")], body: Array(body.utf8))
        return try JSONDecoder().decode(Session.self, from: Data(response.body))
    }

    /// Opens a socket, sends `frames` (one every `pause` seconds), and collects what comes back
    /// until the server closes or `listen` seconds pass.
    func exchange(
        _ env: TestEnvironment, token: String, frames: [String], pause: Double = 0, listen: Double = 1.5
    ) async throws -> (received: [[String: Any]], close: WebSocketErrorCode?) {
        let url = env.gatewayURL.replacingOccurrences(of: "http://", with: "ws://") + "/webchat/ws?token=\(token)"
        let received = Received()
        let close = try await WebSocketClient.connect(
            url: url, configuration: .init(maxFrameSize: 1 << 20), logger: Logger(label: "test.ws")
        ) { inbound, outbound, _ in
            let messages = inbound.messages(maxSize: 1 << 20)
            let reader = Task {
                defer { received.end() }
                for try await message in messages {
                    if case .text(let text) = message { received.append(text) }
                }
            }
            for frame in frames {
                try? await outbound.write(.text(frame))
                if pause > 0 { try await Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
            }
            // Listen until the gateway closes the socket or `listen` seconds pass, whichever is first
            // (a loaded machine may take longer than usual to answer; a close ends the wait).
            let deadline = ContinuousClock.now + .milliseconds(Int(listen * 1000))
            while !received.ended, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            try? await outbound.close(.normalClosure, reason: nil)
            _ = try? await reader.value
        }
        let frames = received.texts.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (frames, close?.closeCode)
    }

    @Test("a read receipt for another visitor's message writes nothing; random ids write nothing")
    func readScope() async throws {
        try await TestEnvironment.with(configure: { $0.limits.webChatFrameBurst = 100 }) { (env: TestEnvironment) async throws in
            let alice = try await session(env)
            let mallory = try await session(env)
            let first = try await exchange(env, token: alice.token, frames: [#"{"type":"message","text":"hello","id":"a1"}"#])
            let reply = try #require(first.received.compactMap { $0["message"] as? [String: Any] }.first { $0["direction"] as? String == "outbound" })
            let replyId = try #require(reply["id"] as? String)
            let reads = [#"{"type":"read","messageId":"\#(replyId)"}"#] + (0..<20).map { _ in #"{"type":"read","messageId":"\#(SortableID.make(prefix: "msg_"))"}"# }
            let attempt = try await exchange(env, token: mallory.token, frames: reads)
            #expect(attempt.received.filter { ($0["error"] as? [String: Any])?["code"] as? String == "unknown_message" }.count == 21)
            #expect(try await env.count("messages", where: "status = 'read'") == 0)
            #expect(try await env.count("early_statuses") == 0)
            // The visitor it was sent to can.
            _ = try await exchange(env, token: alice.token, frames: [#"{"type":"read","messageId":"\#(replyId)"}"#], listen: 0.5)
            #expect(try await env.count("messages", where: "status = 'read'") == 1)
        }
    }

    @Test("a socket that sends faster than its frame budget is closed with 1008, and what it sent beyond is not stored")
    func frameRate() async throws {
        try await TestEnvironment.with(configure: {
            $0.limits.webChatFrameBurst = 3
            $0.limits.webChatFramesPerSecond = 0.01
        }) { (env: TestEnvironment) async throws in
            let visitor = try await session(env)
            let frames = (0..<10).map { #"{"type":"message","text":"spam \#($0)","id":"s\#($0)"}"# }
            let result = try await exchange(env, token: visitor.token, frames: frames)
            #expect(result.close == .policyViolation)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 3)
        }
    }

    @Test("a visitor's sockets beyond the limit are closed with 1008")
    func socketsPerVisitor() async throws {
        try await TestEnvironment.with(configure: { $0.limits.webSocketsPerVisitor = 1 }) { (env: TestEnvironment) async throws in
            let visitor = try await session(env)
            let url = env.gatewayURL.replacingOccurrences(of: "http://", with: "ws://") + "/webchat/ws?token=\(visitor.token)"
            let secondClose = Mutex<WebSocketErrorCode?>(nil)
            _ = try await WebSocketClient.connect(url: url, logger: Logger(label: "test.ws")) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"type":"typing"}"#))
                try await eventually("the first socket is attached") { await env.gateway.webChat.connectionCount == 1 }
                // Read raw: the gateway refuses right after the upgrade (RawWebSocketExchange says why).
                let second = try await RawWebSocketExchange.exchange(port: try env.gatewayPort, path: "/webchat/ws?token=\(visitor.token)")
                secondClose.withLock { $0 = second.closeCode.map { WebSocketErrorCode(codeNumber: Int($0)) } }
                // The first socket is still the visitor's only one: the second was never attached.
                #expect(await env.gateway.webChat.connectionCount == 1)
                #expect(second.texts.count == 1)
                #expect(second.texts.first?.contains(#""code":"too_many_sockets""#) == true)
                #expect(second.closedByServer)
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(secondClose.withLock { $0 } == .policyViolation)
        }
    }

    @Test("a frame of 60 KiB is accepted (the documented 64 KiB), a larger one closes the socket")
    func frameSize() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            let visitor = try await session(env)
            let big = #"{"type":"message","id":"big","text":""# + String(repeating: "a", count: 60 * 1024) + #""}"#
            let accepted = try await exchange(env, token: visitor.token, frames: [big], listen: 1)
            #expect(accepted.received.contains { ($0["message"] as? [String: Any])?["direction"] as? String == "inbound" })
            let huge = #"{"type":"message","id":"huge","text":""# + String(repeating: "a", count: 70 * 1024) + #""}"#
            let refused = try await exchange(env, token: visitor.token, frames: [huge], listen: 1)
            #expect(refused.close == .messageTooLarge)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
        }
    }

    @Test("a session renews for the same visitor until its maximum total age; then a new visitor begins")
    func sessionMaxAge() async throws {
        try await TestEnvironment.with(configure: { $0.limits.webChatSessionMaxAgeSeconds = 3600 }) { (env: TestEnvironment) async throws in
            let first = try await session(env)
            #expect(try await session(env, renewing: first.token).visitorId == first.visitorId)
        }
        try await TestEnvironment.with(configure: { $0.limits.webChatSessionMaxAgeSeconds = 0.3 }) { (env: TestEnvironment) async throws in
            let first = try await session(env)
            try await Task.sleep(nanoseconds: 400_000_000)
            #expect(try await session(env, renewing: first.token).visitorId != first.visitorId)
        }
    }
}

/// Frames a test's socket reader collected.
final class Received: Sendable {
    private let items = Mutex<[String]>([])
    private let finished = Mutex(false)
    /// The gateway closed the socket (or it failed): nothing more will come.
    func end() { finished.withLock { $0 = true } }
    var ended: Bool { finished.withLock { $0 } }
    func append(_ text: String) { items.withLock { $0.append(text) } }
    var texts: [String] { items.withLock { $0 } }
}
