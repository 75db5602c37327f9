import SwitchboardCore
import SwitchboardStorage

/// A channel the gateway delivers itself (web chat), instead of calling a provider's HTTP API.
public protocol LocalChannelDelivery: Sendable {
    var channel: Channel { get }
    /// Hands the message to the channel and says what became of it.
    func deliver(_ item: OutboxItem) async -> DeliveryResult
}
