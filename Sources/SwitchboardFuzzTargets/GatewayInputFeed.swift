import Crypto
import Foundation
import MessengerAdapter
import SwitchboardCore
import SwitchboardFlows
import SwitchboardServer
import TwilioSMSAdapter

/// The gateway's own inputs: web-chat frames and tokens from any visitor, and the files and
/// environment an operator writes (a typo there must be reported at startup, not trap).
enum GatewayInputFeed {
    static let webChatSecret = "fuzz-webchat-secret-0123456789"
    static let tokens = WebChatToken(secret: webChatSecret)
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func webchat(_ bytes: [UInt8]) {
        // A text frame arrives as a String; NIO repairs invalid UTF-8 the same way.
        let text = String(decoding: bytes, as: UTF8.self)
        if case .message(let content, let clientId)? = try? VisitorFrame.request(from: text) {
            _ = try? GatewayJSON.encoder().encode(content)
            _ = clientId.map { "v_fuzz:\($0)" }
        }
        // The bytes as a session token from the socket's query or a renewal body, and as the
        // payload of a token this gateway signed (what a token's fields are read from).
        _ = tokens.claims(for: text, now: now)
        _ = tokens.claims(for: signedToken(payload: bytes), now: now)
    }

    /// `base64url(payload) "." base64url(HMAC-SHA256(payload))`, as WebChatToken issues them.
    static func signedToken(payload: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(webChatSecret.utf8)))
        return base64URL(payload) + "." + base64URL(Array(mac))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func flow(_ bytes: [UInt8]) {
        let (flow, problems) = Flow.decode(Data(bytes), path: "fuzz.json")
        guard let flow, problems.isEmpty, let bot = try? FlowBot(flows: [flow], defaultFlow: flow.name) else { return }
        // A valid flow runs: a first turn, then answers that hit its waits, branches and patterns.
        var state: String?
        let contact = Contact(id: "ct_fuzz", attributes: ["first_name": "Ada"], tags: ["vip"])
        for (text, payload) in [("hi", nil), ("YES", "YES"), ("no thanks", nil), ("ada@example.com", nil), ("", "NO")] as [(String, String?)] {
            var content = Content(text: text)
            if let payload { content.postback = .init(title: text, payload: payload) }
            let message = Message(
                id: "msg_fuzz", contactId: contact.id, channel: .webchat, direction: .inbound, author: .init(kind: .contact),
                content: content, status: .received, createdAt: now, updatedAt: now)
            state = bot.respond(to: BotInput(message: message, contact: contact, state: state)).state
        }
    }

    static func configuration(_ bytes: [UInt8]) {
        if var configuration = try? GatewayConfiguration.decode(Data(bytes), file: "fuzz.json") {
            startUp(&configuration, environment: [:])
        }
        // The same bytes as environment lines `NAME=value`, over the defaults.
        var environment: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).prefix(64) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        if !environment.isEmpty {
            var configuration = GatewayConfiguration()
            startUp(&configuration, environment: environment)
        }
    }

    /// What `GatewayConfiguration.load` and `buildApplication` do with a configuration.
    static func startUp(_ configuration: inout GatewayConfiguration, environment: [String: String]) {
        guard (try? configuration.apply(environment: environment)) != nil, (try? configuration.validate()) != nil else { return }
        _ = configuration.effectivePublicURL
        _ = configuration.sqlitePath
        _ = configuration.twilioSettings?.messagesURL
        _ = configuration.messengerSettings?.sendURL
        _ = configuration.rbmSettings
    }
}
