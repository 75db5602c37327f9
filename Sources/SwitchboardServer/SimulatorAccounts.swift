import SwitchboardCore

/// The accounts the simulator plays, one per registered provider channel, each its section's
/// own. The published ones are written in this repository, so they authenticate nothing: only
/// `serve --dev` and `switchboard simulate` use them, and `serve` without `--dev` refuses to start
/// when a configured secret is one of them (docs/security.md, "forged webhooks").
extension ProviderAccounts {
    /// The simulator's own accounts, the same in every checkout.
    public static var published: ProviderAccounts {
        ProviderAccounts(ChannelRegistry.providers.map(\.publishedSimulatorAccount))
    }

    /// The same accounts with fresh secrets (each section's `randomSimulatorAccount()`), for a
    /// gateway started without `--dev` whose simulator must sign as it expects.
    public static func random() -> ProviderAccounts {
        ProviderAccounts(ChannelRegistry.providers.map { $0.randomSimulatorAccount() })
    }
}

extension ProviderChannelRegistration {
    var publishedSimulatorAccount: any ChannelConfigurationSection { Section.publishedSimulatorAccount }

    func randomSimulatorAccount() -> any ChannelConfigurationSection { Section.randomSimulatorAccount() }

    func account(in configuration: GatewayConfiguration) -> (any ChannelConfigurationSection)? {
        section(in: configuration)
    }

    func setAccount(from accounts: ProviderAccounts, in configuration: inout GatewayConfiguration) {
        setSection(accounts[Section.self], in: &configuration)
    }

    /// When the channel lacks credentials: takes each missing one from `accounts` (the published
    /// account when `accounts` has none for this channel) and points the API at `simulatorURL`
    /// when it still names the real provider. Returns whether the channel was filled.
    func fillWithSimulatorAccount(from accounts: ProviderAccounts, in configuration: inout GatewayConfiguration) -> Bool {
        let current = section(in: configuration)
        guard current?.settings(publicURL: configuration.effectivePublicURL) == nil else { return false }
        var section = current ?? Section()
        section.fillCredentials(from: accounts[Section.self] ?? Section.publishedSimulatorAccount)
        if section.apiBaseURL == Section().apiBaseURL { section.apiBaseURL = configuration.simulatorURL }
        setSection(section, in: &configuration)
        return true
    }
}

extension GatewayConfiguration {
    /// The simulator's base URL, where `--dev` points the providers' APIs.
    public var simulatorURL: String {
        "http://\(simulator.host):\(simulator.port)"
    }

    /// The provider channels' sections as accounts: what the simulator plays when it plays this
    /// gateway's providers. Setting it replaces every provider channel's section.
    public var providerAccounts: ProviderAccounts {
        get { ProviderAccounts(ChannelRegistry.providers.compactMap { $0.account(in: self) }) }
        set { for registration in ChannelRegistry.providers { registration.setAccount(from: newValue, in: &self) } }
    }

    /// For `serve --dev` and `switchboard simulate`: each provider channel the operator left without
    /// credentials takes the missing ones from `accounts`, and its API is pointed at the simulator
    /// when it still names the real provider (published secrets never go to a real API). Returns
    /// the channels filled.
    @discardableResult
    public mutating func fillWithSimulatorCredentials(_ accounts: ProviderAccounts = .published) -> [SwitchboardCore.Channel] {
        ChannelRegistry.providers.compactMap { registration in
            registration.fillWithSimulatorAccount(from: accounts, in: &self) ? registration.channel : nil
        }
    }

    /// The configured secrets that are the simulator's published values, each named by its key:
    /// outside `--dev` such a channel would accept webhooks signed by anyone.
    public var publishedSecretProblems: [String] {
        let published = Set(ProviderAccounts.published.secrets)
        let configured: [(name: String, value: String?)] = ChannelRegistry.providers.flatMap { $0.secrets(in: self) } + [
            ("webchat.secret (SWITCHBOARD_WEBCHAT_SECRET)", webchat.secret),
            ("apiToken (SWITCHBOARD_API_TOKEN)", apiToken),
        ]
        return configured.compactMap { key, value in
            guard let value, published.contains(value) else { return nil }
            return "\(key) is the simulator's published value, which anyone can sign with; set your provider's own secret (or run with --dev)"
        }
    }

    /// Each channel with whether it is enabled and, when it is not, why: the startup listing.
    public var channelStates: [(channel: SwitchboardCore.Channel, disabledBecause: String?)] {
        ChannelRegistry.providers.map { registration in
            (registration.channel, registration.registered(in: self).adapter == nil ? registration.missingCredentialsHint : nil)
        } + [
            (.webchat, webchat.enabled ? nil : "webchat.enabled is false"),
        ]
    }
}
