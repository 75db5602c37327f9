import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// What a request carries through the gateway: Hummingbird's core (logger with `hb.request.id`,
/// route parameters), the body limit webhooks are held to, and the WebSocket upgrade slot.
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int
    public let webSocket: WebSocketHandlerReference<GatewayRequestContext>
    private let channel: any Channel
    /// The peer's IP address (the load balancer's, behind one), for per-client limits. Read when
    /// asked, not per request: the webhook path never needs it.
    public var clientAddress: String? { channel.remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
        self.webSocket = .init()
        self.channel = source.channel
    }
}
