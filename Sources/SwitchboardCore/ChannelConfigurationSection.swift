/// A webhook route of a provider channel: the method and the path under the gateway's base URL.
public struct WebhookEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// `GET` or `POST`.
    public var method: String
    /// The path without a leading slash, such as `webhooks/twilio/sms`.
    public var path: String

    public init(_ method: String, _ path: String) {
        self.method = method
        self.path = path
    }

    public var description: String { "\(method) /\(path)" }
}

/// A provider's setup handshake (Meta's `hub.challenge`, RBM's `clientToken`/`secret`): a request
/// answered with plain text instead of being decoded into events.
public protocol WebhookHandshake: Sendable {
    /// The plain-text answer when `request` is the handshake; nil when it carries events. Throws
    /// when it is a handshake that does not hold (a wrong token: `.badSignature`).
    func handshakeAnswer(_ request: WebhookRequest) throws(WebhookError) -> String?
}

/// A provider channel's section of the gateway configuration (`twilio`, `messenger`, `rbm`): what
/// the operator sets in the file, the environment variables that override it, what is wrong with
/// it, and the adapter settings it makes once complete. The gateway iterates over registered
/// sections instead of naming providers.
public protocol ChannelConfigurationSection: Codable, Sendable, Equatable {
    /// What the channel's adapter is built from.
    associatedtype Settings: Sendable

    /// A section with nothing set (every default).
    init()

    /// The channel the section configures.
    static var channel: Channel { get }
    /// The section's key in the configuration file.
    static var key: String { get }
    /// The environment variables that set the section's fields.
    static var environmentKeys: [String] { get }
    /// What to set for the channel to be enabled (the startup listing names it when it is not).
    static var missingCredentialsHint: String { get }

    /// Applies the environment (called when one of `environmentKeys` is set).
    mutating func apply(environment: [String: String])
    /// Every problem with the section, each naming the key and its environment variable.
    var problems: [String] { get }
    /// The adapter's settings; nil when credentials are missing (the channel is then disabled).
    /// `publicURL` is the gateway's base URL without a trailing slash.
    func settings(publicURL: String) -> Settings?
    /// The secrets the section holds, each named by key and environment variable (for the
    /// published-secret check; never logged).
    var secrets: [(name: String, value: String?)] { get }
    /// The provider API's base URL (the simulator's on a development machine).
    var apiBaseURL: String { get set }
    /// The environment variables (of `environmentKeys`) that set this section's fields as they
    /// are, for starting `serve` as a child process.
    var environment: [String: String] { get }

    // The simulator's side of the channel: the account its fake plays.

    /// The simulator's published account (written in this repository, so it authenticates
    /// nothing): what `serve --dev` and `switchboard simulate` give a section without credentials.
    static var publishedSimulatorAccount: Self { get }
    /// The same account with fresh secrets, for one run of a benchmark or a reliability script.
    static func randomSimulatorAccount() -> Self
    /// Takes from `account` each credential this section lacks, keeping what the operator set.
    mutating func fillCredentials(from account: Self)
}

extension ChannelConfigurationSection {
    /// Random lowercase hexadecimal of `bytes` bytes, for `randomSimulatorAccount()`.
    public static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255)
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }
}
