/// A messaging channel the gateway talks through.
public enum Channel: String, Codable, Sendable, CaseIterable, Hashable {
    case sms
    case rcs
    case messenger
    case webchat
}
