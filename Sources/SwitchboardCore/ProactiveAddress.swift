import Crypto
import Foundation

/// The checks of a message the business starts (`POST /api/v1/messages`): whom it goes to, and
/// the idempotency key that keeps a retried request from sending twice.
public enum ProactiveAddress {
    /// The address in the form the channel stores it: E.164 for SMS and RCS, the page-scoped id
    /// (digits) for Messenger, the visitor id for web chat; or why it is not one.
    public static func normalize(_ raw: String, channel: Channel) -> Result<String, MessageError> {
        let trimmed = raw.trimmingWhitespace()
        switch channel {
        case .sms, .rcs:
            guard let phone = PhoneNumber.e164(trimmed) else {
                return .failure(MessageError(
                    code: "invalid_address",
                    message: "'\(trimmed.prefix(40))' is not an international phone number: write + and the country code, 8 to 15 digits (E.164, such as +15551230000)"))
            }
            return .success(phone)
        case .messenger:
            guard (1...64).contains(trimmed.utf8.count), trimmed.utf8.allSatisfy({ (48...57).contains($0) }) else {
                return .failure(MessageError(
                    code: "invalid_address", message: "a Messenger address is the page-scoped id (digits) the contact wrote from"))
            }
            return .success(trimmed)
        case .webchat:
            guard trimmed.hasPrefix("v_"), (3...64).contains(trimmed.utf8.count),
                  trimmed.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45 })
            else {
                return .failure(MessageError(code: "invalid_address", message: "a web-chat address is a visitor id (v_…)"))
            }
            return .success(trimmed)
        }
    }

    /// An `Idempotency-Key` header's key: 1 to 255 visible ASCII characters, bare (as Stripe and
    /// most APIs take it) or as the quoted string of draft-ietf-httpapi-idempotency-key-header.
    public static func idempotencyKey(_ header: String) -> Result<String, MessageError> {
        var value = header.trimmingWhitespace()
        if value.utf8.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
            value = String(value.dropFirst().dropLast())
        }
        guard (1...255).contains(value.utf8.count), value.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != 0x22 }) else {
            return .failure(MessageError(
                code: "invalid_idempotency_key", message: "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good key)"))
        }
        return .success(value)
    }

    /// How long a key is remembered.
    public static let idempotencyWindow: TimeInterval = 86_400

    /// A request's fingerprint: the same key with another fingerprint is refused. Computed over the
    /// normalized request, so spacing or key order in the JSON does not matter.
    public static func fingerprint(channel: Channel, address: String, content: Content, author: Message.Author) throws -> String {
        struct Normalized: Encodable {
            var channel: String
            var address: String
            var content: Content
            var author: Message.Author
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = try encoder.encode(Normalized(channel: channel.rawValue, address: address, content: content, author: author))
        return HMACSignature.hex(SHA256.hash(data: bytes))
    }
}
