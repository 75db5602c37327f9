/// What the RCS Business Messaging adapter needs.
public struct RBMSettings: Sendable, Equatable {
    public var agentId: String
    /// The webhook client token: checked in the setup handshake and the key of `X-Goog-Signature`.
    public var clientToken: String
    /// OAuth 2.0 bearer token for the RBM API.
    public var accessToken: String
    /// `https://rcsbusinessmessaging.googleapis.com`, or the simulator's address.
    public var apiBaseURL: String

    public init(agentId: String, clientToken: String, accessToken: String, apiBaseURL: String) {
        self.agentId = agentId
        self.clientToken = clientToken
        self.accessToken = accessToken
        self.apiBaseURL = apiBaseURL
    }

    var base: String {
        var base = apiBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}
