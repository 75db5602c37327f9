/// The provider accounts the simulator plays, and that its webhooks are signed with. Each is the
/// same value the gateway is configured with.
public struct ProviderAccounts: Sendable, Equatable {
    public var twilioAccountSid: String?
    public var twilioAuthToken: String?
    /// Our Twilio number: the `To` of simulated inbound SMS.
    public var twilioNumber: String?
    public var messengerAppSecret: String?
    public var messengerVerifyToken: String?
    public var messengerPageAccessToken: String?
    public var messengerPageId: String?
    public var rbmAgentId: String?
    public var rbmClientToken: String?
    public var rbmAccessToken: String?
    /// The public key (PEM) of the RBM service account whose JWTs the token endpoint accepts.
    public var rbmServiceAccountPublicKey: String?

    public init(
        twilioAccountSid: String? = nil, twilioAuthToken: String? = nil, twilioNumber: String? = nil,
        messengerAppSecret: String? = nil, messengerVerifyToken: String? = nil, messengerPageAccessToken: String? = nil,
        messengerPageId: String? = nil, rbmAgentId: String? = nil, rbmClientToken: String? = nil, rbmAccessToken: String? = nil,
        rbmServiceAccountPublicKey: String? = nil
    ) {
        self.twilioAccountSid = twilioAccountSid
        self.twilioAuthToken = twilioAuthToken
        self.twilioNumber = twilioNumber
        self.messengerAppSecret = messengerAppSecret
        self.messengerVerifyToken = messengerVerifyToken
        self.messengerPageAccessToken = messengerPageAccessToken
        self.messengerPageId = messengerPageId
        self.rbmAgentId = rbmAgentId
        self.rbmClientToken = rbmClientToken
        self.rbmAccessToken = rbmAccessToken
        self.rbmServiceAccountPublicKey = rbmServiceAccountPublicKey
    }
}

/// Where the simulator listens and which accounts it accepts.
public struct SimulatorSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var accounts: ProviderAccounts
    /// How long access tokens from the simulated Google token endpoint are accepted.
    public var rbmTokenLifetimeSeconds: Double = 3600
    /// What those tokens' `expires_in` says; longer than the lifetime plays a token revoked early.
    public var rbmTokenAdvertisedLifetimeSeconds: Double?

    public init(host: String = "127.0.0.1", port: Int = 8090, accounts: ProviderAccounts) {
        self.host = host
        self.port = port
        self.accounts = accounts
    }
}
