import CurlHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import Testing

@Suite("Web chat end to end")
struct WebChatTests {
    struct Session: Decodable {
        var visitorId: String
        var token: String
        var expiresAt: String
    }

    func session(_ env: TestEnvironment, renewing token: String? = nil) async throws -> Session {
        let body = token.map { #"{"token":"\#($0)"}"# }
        let response = try await env.raw(
            "POST", "/webchat/sessions", headers: body == nil ? [] : [(name: "Content-Type", value: "application/json")],
            body: Array((body ?? "").utf8))
        #expect(response.status == 201)
        return try JSONDecoder().decode(Session.self, from: Data(response.body))
    }

    /// Opens the socket, runs `script` with a sender and a frame reader, and closes.
    func withSocket(
        _ env: TestEnvironment, token: String,
        _ script: @escaping @Sendable (_ send: @Sendable (String) async throws -> Void, _ next: @Sendable () async throws -> [String: Any]) async throws -> Void
    ) async throws {
        let url = env.gatewayURL.replacingOccurrences(of: "http://", with: "ws://") + "/webchat/ws?token=\(token)"
        try await WebSocketClient.connect(url: url, logger: Logger(label: "test.ws")) { inbound, outbound, _ in
            let box = IteratorBox(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
            try await script({ text in try await outbound.write(.text(text)) }, {
                guard case .text(let text) = try await box.next() else { throw TimedOut() }
                return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            })
        }
    }

    @Test("sessions are issued and renewed for the same visitor")
    func sessions() async throws {
        try await TestEnvironment.with { env in
            let first = try await session(env)
            #expect(first.visitorId.hasPrefix("v_"))
            #expect(Timestamp.date(from: first.expiresAt)! > Date().addingTimeInterval(29 * 24 * 3600))
            let renewed = try await session(env, renewing: first.token)
            #expect(renewed.visitorId == first.visitorId)
            let stranger = try await session(env, renewing: "forged.token")
            #expect(stranger.visitorId != first.visitorId)
        }
    }

    @Test("a socket without a valid token is told invalid_session and closed with 4401; plain GET is 401 in the error shape")
    func refusedSocket() async throws {
        try await TestEnvironment.with { (env: TestEnvironment) async throws in
            // Read raw: the gateway answers right after the upgrade (RawWebSocketExchange says why).
            let refused = try await RawWebSocketExchange.exchange(
                port: try env.gatewayPort, path: "/webchat/ws?token=nope", frames: [#"{"type":"message","text":"let me in"}"#])
            #expect(refused.statusLine.hasPrefix("HTTP/1.1 101"))
            #expect(refused.closeCode == 4401)
            #expect(refused.texts.count == 1)
            #expect(refused.texts.first?.contains(#""code":"invalid_session""#) == true)
            #expect(refused.closedByServer)
            let plain = try await env.raw("GET", "/webchat/ws?token=nope")
            #expect(plain.status == 401)
            #expect(plain.text.contains(#""code":"invalid_session""#))
            #expect(try await env.count("messages") == 0)
        }
    }

    @Test("a visitor's message is stored and echoed with its id, the bot replies over the socket, its read receipt reaches the consoles' event stream, and a resent frame is not stored twice")
    func conversation() async throws {
        try await TestEnvironment.with { env in
            let visitor = try await session(env)
            // What the consoles' event streams (GET /api/v1/events) are fed.
            let subscription = env.gateway.events.subscribe()
            let published = Mutex<[GatewayEvent]>([])
            let collector = Task { for await event in subscription.events { published.withLock { $0.append(event) } } }
            defer {
                subscription.end()
                collector.cancel()
            }
            try await withSocket(env, token: visitor.token) { send, next in
                try await send(#"{"type":"message","text":"hello","id":"c1"}"#)
                let echo = try await next()
                #expect(echo["type"] as? String == "message")
                #expect(echo["clientId"] as? String == "c1")
                let stored = try #require(echo["message"] as? [String: Any])
                #expect(stored["direction"] as? String == "inbound")
                #expect(stored["channel"] as? String == "webchat")
                let reply = try await next()
                let replyMessage = try #require(reply["message"] as? [String: Any])
                #expect((replyMessage["content"] as? [String: Any])?["text"] as? String == "You said: hello")
                #expect((replyMessage["author"] as? [String: Any])?["kind"] as? String == "bot")

                let replyId = try #require(replyMessage["id"] as? String)
                try await send(#"{"type":"read","messageId":"\#(replyId)"}"#)
                let status = try await next()
                #expect(status["type"] as? String == "status")
                #expect(status["messageId"] as? String == replyId)
                #expect(status["status"] as? String == "read")

                try await send(#"{"type":"message","text":"hello","id":"c1"}"#)
                let again = try await next()
                #expect((again["message"] as? [String: Any])?["id"] as? String == stored["id"] as? String)
                try await send(#"{"type":"nonsense"}"#)
                #expect((try await next())["type"] as? String == "error")
                try await send("not json")
                #expect(((try await next())["error"] as? [String: Any])?["code"] as? String == "malformed_frame")
            }
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
            #expect(try await env.count("messages", where: "direction = 'outbound' AND status = 'read'") == 1)
            try await eventually("the visitor's read receipt is published as message.status") {
                published.withLock { events in
                    events.contains { $0.type == .messageStatus && $0.message?.status == .read && $0.message?.direction == .outbound }
                }
            }
        }
    }

    @Test("after a reconnect, resume replays what came after the last message seen")
    func resume() async throws {
        try await TestEnvironment.with { env in
            let visitor = try await session(env)
            let firstId = Mutex<String?>(nil)
            try await withSocket(env, token: visitor.token) { send, next in
                try await send(#"{"type":"message","text":"one","id":"a"}"#)
                let echo = try await next()
                firstId.withLock { $0 = (echo["message"] as? [String: Any])?["id"] as? String }
            }
            // The reply may have been pushed to the old socket or to none: either way it is stored.
            try await eventually("the reply is stored") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            let since = try #require(firstId.withLock { $0 })
            let renewed = try await session(env, renewing: visitor.token)
            try await withSocket(env, token: renewed.token) { send, next in
                try await send(#"{"type":"resume","since":"\#(since)"}"#)
                let replayed = try await next()
                let message = try #require(replayed["message"] as? [String: Any])
                #expect((message["content"] as? [String: Any])?["text"] as? String == "You said: one")
                #expect((message["id"] as? String ?? "") > since)
            }
        }
    }
}

import Synchronization
import WSCore

/// Lets the script's reader closure advance the socket's message iterator.
final class IteratorBox: @unchecked Sendable {
    var iterator: WebSocketInboundMessageStream.AsyncIterator
    init(iterator: WebSocketInboundMessageStream.AsyncIterator) { self.iterator = iterator }
    func next() async throws -> WebSocketMessage? { try await iterator.next() }
}
