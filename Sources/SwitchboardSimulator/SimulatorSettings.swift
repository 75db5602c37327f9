import SwitchboardCore

/// Where the simulator listens and which accounts it accepts.
public struct SimulatorSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The provider accounts the simulator plays and signs its webhooks with: one configuration
    /// section per channel, the same values the gateway is configured with.
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
