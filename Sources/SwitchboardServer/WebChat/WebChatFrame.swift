import SwitchboardCore

/// A frame from the visitor's widget (docs/webchat-protocol.md).
struct VisitorFrame: Decodable {
    var type: String
    /// `message`: the visitor's text, and the payload of a tapped quick reply or button.
    var text: String?
    var payload: String?
    /// `message`: the client's own id, for de-duplication of resent frames.
    var id: String?
    /// `resume`: the last message id the widget has seen.
    var since: String?
    /// `read`: the outbound message the visitor has seen (and everything before it).
    var messageId: String?
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
