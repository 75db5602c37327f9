import Foundation
import SwitchboardCore

/// A frame from the visitor's widget (docs/webchat-protocol.md).
public struct VisitorFrame: Decodable, Sendable {
    public var type: String
    /// `message`: the visitor's text, and the payload of a tapped quick reply or button.
    public var text: String?
    public var payload: String?
    /// `message`: the client's own id, for de-duplication of resent frames.
    public var id: String?
    /// `resume`: the last message id the widget has seen.
    public var since: String?
    /// `read`: the outbound message the visitor has seen (and everything before it).
    public var messageId: String?
}

extension VisitorFrame {
    /// What a visitor's frame asks the gateway to do, once decoded and checked.
    public enum Request: Sendable, Equatable {
        /// Store the visitor's message; `clientId` (1 to 128 bytes) makes a resent frame idempotent.
        case message(Content, clientId: String?)
        /// Replay the conversation after `since` (from the start when nil).
        case resume(since: String?)
        /// The visitor has seen this outbound message.
        case read(messageId: String)
        case typing
    }

    /// Why a frame was refused: the `error` frame's code and message sent back on the socket.
    public struct Refusal: Error, Sendable, Equatable {
        public var code: String
        public var message: String
    }

    /// Decodes and checks one text frame. A visitor is anyone on the web: every refusal is a
    /// `Refusal` answered on the socket, never a trap.
    public static func request(from text: String) throws(Refusal) -> Request {
        guard let frame = try? JSONDecoder().decode(VisitorFrame.self, from: Data(text.utf8)) else {
            throw Refusal(code: "malformed_frame", message: "a frame is a JSON object with a type")
        }
        switch frame.type {
        case "message":
            var content = Content(text: frame.text)
            if let payload = frame.payload { content.postback = .init(title: frame.text, payload: payload) }
            guard !content.isEmpty else {
                throw Refusal(code: "empty_message", message: "a message needs text or a payload")
            }
            if let id = frame.id, id.isEmpty || id.utf8.count > 128 {
                throw Refusal(code: "malformed_frame", message: "a client id is 1 to 128 bytes")
            }
            return .message(content, clientId: frame.id)
        case "resume":
            return .resume(since: frame.since)
        case "read":
            guard let messageId = frame.messageId else {
                throw Refusal(code: "malformed_frame", message: "a read frame names a messageId")
            }
            return .read(messageId: messageId)
        case "typing":
            return .typing
        default:
            throw Refusal(code: "unknown_frame_type", message: "unknown frame type '\(frame.type.prefix(40))'")
        }
    }
}

/// A frame to the visitor's widget.
struct GatewayFrame: Encodable {
    var type: String
    var message: Message?
    var messageId: String?
    var status: MessageStatus?
    var clientId: String?
    var error: MessageError?

    static func message(_ message: Message, clientId: String? = nil) -> GatewayFrame {
        GatewayFrame(type: "message", message: message, clientId: clientId)
    }

    static func status(messageId: String, status: MessageStatus) -> GatewayFrame {
        GatewayFrame(type: "status", messageId: messageId, status: status)
    }

    static func error(code: String, message: String) -> GatewayFrame {
        GatewayFrame(type: "error", error: MessageError(code: code, message: message))
    }
}
