import Hummingbird
import HummingbirdWebSocket

/// What a request carries through the gateway: Hummingbird's core (logger with `hb.request.id`,
/// route parameters), the body limit webhooks are held to, and the WebSocket upgrade slot.
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int
    public let webSocket: WebSocketHandlerReference<GatewayRequestContext>

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
        self.webSocket = .init()
    }
}
