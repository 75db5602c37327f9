import Foundation
import SwitchboardCore

/// A decoder of bytes from outside the gateway, fed the way the gateway feeds it. libFuzzer's
/// executable (Tests/Fuzz) and FuzzRegressionTests both go through `run(_:)`, so a corpus file or a
/// crash input replays in `swift test` exactly as the fuzzer ran it.
///
/// Every input is expected to be refused or accepted with a typed error or a value; the only
/// finding is a process that stops (a trap, a sanitizer report, a timeout).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Twilio's form webhooks, unsigned and correctly signed, and its JSON answers.
    case twilio
    /// Messenger's JSON webhooks, correctly signed, the handshake query, and Send API answers.
    case messenger
    /// RBM's Pub/Sub envelopes as sent, and the bytes as a signed envelope's `message.data`.
    case rbm
    /// Web-chat visitor frames and session tokens.
    case webchat
    /// Flow files (`Config/flows/*.json`): decoding, validation, and a turn of the flow engine.
    case flow
    /// The configuration file, and the bytes as `KEY=value` environment lines.
    case configuration

    /// Feeds `bytes` through this target's decoders, discarding every result.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .twilio: ProviderWebhookFeed.twilio(bytes)
        case .messenger: ProviderWebhookFeed.messenger(bytes)
        case .rbm: ProviderWebhookFeed.rbm(bytes)
        case .webchat: GatewayInputFeed.webchat(bytes)
        case .flow: GatewayInputFeed.flow(bytes)
        case .configuration: GatewayInputFeed.configuration(bytes)
        }
    }
}
