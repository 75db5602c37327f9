import CurlHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import SwitchboardCore

/// A web-chat visitor, as the widget would be: opens a session, connects the WebSocket, sends
/// frames, and collects what the gateway sends back (docs/webchat-protocol.md).
public struct SimulatedVisitor: Sendable {
    public var gatewayURL: String
    let client: CurlHTTPClient

    public init(gatewayURL: String, client: CurlHTTPClient) {
        var url = gatewayURL
        while url.hasSuffix("/") { url.removeLast() }
        self.gatewayURL = url
        self.client = client
    }

    public struct Session: Codable, Sendable {
        public var visitorId: String
        public var token: String
        public var expiresAt: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `POST /webchat/sessions`, renewing `token` when given.
    public func session(renewing token: String? = nil) async throws -> Session {
        let body = token.map { Array(#"{"token":"\#($0)"}"#.utf8) } ?? []
        let response = try await client.execute(HTTPClientRequest(
            method: "POST", url: gatewayURL + "/webchat/sessions",
            headers: body.isEmpty ? [] : [(name: "Content-Type", value: "application/json")], body: body))
        guard response.status == 201 else {
            throw Failure(description: "POST /webchat/sessions answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return try JSONDecoder().decode(Session.self, from: Data(response.body))
    }

    /// Connects with `token`, sends `frames` (JSON text), and returns the frames received until
    /// `until` says the conversation is complete or `timeout` seconds pass.
    public func exchange(
        token: String, frames: [String], timeout: Double = 10,
        until: @escaping @Sendable ([String]) -> Bool
    ) async throws -> [String] {
        let url = gatewayURL.replacingOccurrences(of: "http://", with: "ws://").replacingOccurrences(of: "https://", with: "wss://")
            + "/webchat/ws?token=" + FormURLEncoding.escape(token)
        let collected = FrameLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: url, logger: Logger(label: "switchboard.simulator.visitor")) { inbound, outbound, _ in
                    for frame in frames { try await outbound.write(.text(frame)) }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if until(await collected.append(text)) { break }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                throw Failure(description: "no complete answer within \(timeout) s")
            }
            try await group.next()
            group.cancelAll()
        }
        return await collected.frames
    }
}

actor FrameLog {
    var frames: [String] = []

    func append(_ frame: String) -> [String] {
        frames.append(frame)
        return frames
    }
}
