import SwitchboardCore

/// What the RCS Business Messaging adapter needs.
public struct RBMSettings: Sendable, Equatable {
    public var agentId: String
    /// The webhook client token: checked in the setup handshake and the key of `X-Goog-Signature`.
    public var clientToken: String
    /// How calls to the RBM API are authorized.
    public var credentials: Credentials
    /// `https://rcsbusinessmessaging.googleapis.com`, or the simulator's address.
    public var apiBaseURL: String

    /// A static OAuth 2.0 bearer token (`RBM_ACCESS_TOKEN`), or a service account whose tokens the
    /// gateway mints and refreshes (`RBM_SERVICE_ACCOUNT_FILE`).
    public enum Credentials: Sendable, Equatable {
        case accessToken(String)
        case serviceAccount(GoogleServiceAccount)
    }

    public init(agentId: String, clientToken: String, credentials: Credentials, apiBaseURL: String) {
        self.agentId = agentId
        self.clientToken = clientToken
        self.credentials = credentials
        self.apiBaseURL = apiBaseURL
    }

    public init(agentId: String, clientToken: String, accessToken: String, apiBaseURL: String) {
        self.init(agentId: agentId, clientToken: clientToken, credentials: .accessToken(accessToken), apiBaseURL: apiBaseURL)
    }

    /// The `Authorization` header the adapter writes itself: only for a static token. With a
    /// service account the caller adds the current token (`ProviderAuthorization`).
    var staticAuthorization: [ProviderHeader] {
        if case .accessToken(let token) = credentials { return [ProviderHeader("Authorization", "Bearer " + token)] }
        return []
    }

    var base: String {
        var base = apiBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}
