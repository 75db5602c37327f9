/// The provider accounts of a gateway and of the simulator that plays its providers: one
/// configuration section per registered channel, the very values the gateway is configured with.
/// The simulator's fakes, its signer of webhooks and the sandbox take their settings from here by
/// the section's type, so none of the code between them names a provider.
public struct ProviderAccounts: Sendable, Equatable {
    /// The sections by their key (`twilio`, `messenger`, `rbm`).
    private var byKey: [String: any ChannelConfigurationSection]

    public init(_ sections: [any ChannelConfigurationSection] = []) {
        byKey = [:]
        for section in sections { byKey[type(of: section).key] = section }
    }

    /// The account of one channel, by its section's type; setting nil removes it.
    public subscript<Section: ChannelConfigurationSection>(_ type: Section.Type) -> Section? {
        get { byKey[Section.key] as? Section }
        set { byKey[Section.key] = newValue }
    }

    /// Every account, in the order of their keys.
    public var sections: [any ChannelConfigurationSection] {
        byKey.keys.sorted().compactMap { byKey[$0] }
    }

    /// The channels with an account.
    public var channels: Set<Channel> {
        Set(byKey.values.map { type(of: $0).channel })
    }

    /// The secret values among the accounts (not the ids and numbers, which are not secret).
    public var secrets: [String] {
        byKey.values.flatMap { $0.secrets.compactMap(\.value) }
    }

    /// The accounts as the environment variables `serve` reads, with every provider's API at
    /// `apiBaseURL` (the simulator's).
    public func environment(apiBaseURL: String) -> [String: String] {
        var environment: [String: String] = [:]
        for var section in byKey.values {
            section.apiBaseURL = apiBaseURL
            environment.merge(section.environment) { _, new in new }
        }
        return environment
    }

    /// Every account with its provider's API at `apiBaseURL`.
    public func pointed(at apiBaseURL: String) -> ProviderAccounts {
        ProviderAccounts(byKey.values.map { section in
            var section = section
            section.apiBaseURL = apiBaseURL
            return section
        })
    }

    public static func == (lhs: ProviderAccounts, rhs: ProviderAccounts) -> Bool {
        func same<Section: ChannelConfigurationSection>(_ section: Section, _ other: (any ChannelConfigurationSection)?) -> Bool {
            (other as? Section) == section
        }
        return lhs.byKey.count == rhs.byKey.count && lhs.byKey.allSatisfy { key, section in same(section, rhs.byKey[key]) }
    }
}
