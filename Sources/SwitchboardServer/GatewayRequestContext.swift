import Hummingbird

/// What a request carries through the gateway: Hummingbird's core (logger with `hb.request.id`,
/// route parameters) and the body limit webhooks are held to.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 1 << 20
    }
}
