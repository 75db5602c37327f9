import SwitchboardCore
import MessengerAdapter
import RBMAdapter
import TwilioSMSAdapter

/// A provider channel's adapter: both halves, built once from its settings.
public typealias ProviderChannelAdapter = InboundChannelAdapter & OutboundChannelAdapter

/// A provider channel as the gateway registers it: where its section sits in the configuration,
/// the webhook endpoints it answers, and how its adapter is built. Everything else (environment
/// keys, validation, handshake, the startup listing) comes from the section and the adapter, so
/// adding a channel is one registration in `ChannelRegistry.providers`.
protocol ProviderChannelRegistration: Sendable {
    associatedtype Section: ChannelConfigurationSection

    /// The section in `configuration` (nil: the file and the environment say nothing of it).
    func section(in configuration: GatewayConfiguration) -> Section?
    func setSection(_ section: Section?, in configuration: inout GatewayConfiguration)
    var webhookEndpoints: [WebhookEndpoint] { get }
    func adapter(_ settings: Section.Settings) -> any ProviderChannelAdapter
}

extension ProviderChannelRegistration {
    var channel: SwitchboardCore.Channel { Section.channel }
    var key: String { Section.key }
    var environmentKeys: [String] { Section.environmentKeys }
    var missingCredentialsHint: String { Section.missingCredentialsHint }

    /// Applies the section's environment variables, creating the section when one is set.
    func applyEnvironment(_ environment: [String: String], to configuration: inout GatewayConfiguration) {
        guard Section.environmentKeys.contains(where: { environment[$0] != nil }) else { return }
        var section = section(in: configuration) ?? Section()
        section.apply(environment: environment)
        setSection(section, in: &configuration)
    }

    func problems(in configuration: GatewayConfiguration) -> [String] {
        section(in: configuration)?.problems ?? []
    }

    func apiBaseURL(in configuration: GatewayConfiguration) -> String? {
        section(in: configuration)?.apiBaseURL
    }

    func secrets(in configuration: GatewayConfiguration) -> [(name: String, value: String?)] {
        section(in: configuration)?.secrets ?? []
    }

    /// The channel with its adapter, or without one when credentials are missing.
    func registered(in configuration: GatewayConfiguration) -> RegisteredChannel {
        let section = section(in: configuration)
        let settings = section?.settings(publicURL: configuration.effectivePublicURL)
        return RegisteredChannel(
            channel: channel, webhookEndpoints: webhookEndpoints, adapter: settings.map(adapter), apiBaseURL: section?.apiBaseURL)
    }
}

/// A registered provider channel in one gateway: its webhook endpoints and, when configured, its adapter.
public struct RegisteredChannel: Sendable {
    public let channel: SwitchboardCore.Channel
    public let webhookEndpoints: [WebhookEndpoint]
    /// Nil when the channel's credentials are missing: its webhooks answer 404 `channel_disabled`.
    public let adapter: (any ProviderChannelAdapter)?
    /// The provider API's base URL as configured (the simulator's on a development machine).
    public let apiBaseURL: String?

    /// The adapter's setup handshake, when its provider has one.
    var handshake: (any WebhookHandshake)? { adapter as? any WebhookHandshake }
}

/// Every provider channel the gateway knows. Web chat is not here: it is the gateway's own channel
/// (no provider, no webhook), configured by `webchat`.
enum ChannelRegistry {
    static let providers: [any ProviderChannelRegistration] = [
        TwilioSMSRegistration(), RBMRegistration(), MessengerRegistration(),
    ]

    /// Each provider channel with its adapter built once from `configuration`.
    static func registered(in configuration: GatewayConfiguration) -> [RegisteredChannel] {
        providers.map { $0.registered(in: configuration) }
    }
}

struct TwilioSMSRegistration: ProviderChannelRegistration {
    func section(in configuration: GatewayConfiguration) -> TwilioConfigurationSection? { configuration.twilio }
    func setSection(_ section: TwilioConfigurationSection?, in configuration: inout GatewayConfiguration) { configuration.twilio = section }
    var webhookEndpoints: [WebhookEndpoint] { TwilioSMSAdapter.webhookEndpoints }
    func adapter(_ settings: TwilioSettings) -> any ProviderChannelAdapter { TwilioSMSAdapter(settings: settings) }
}

struct RBMRegistration: ProviderChannelRegistration {
    func section(in configuration: GatewayConfiguration) -> RBMConfigurationSection? { configuration.rbm }
    func setSection(_ section: RBMConfigurationSection?, in configuration: inout GatewayConfiguration) { configuration.rbm = section }
    var webhookEndpoints: [WebhookEndpoint] { RBMAdapter.webhookEndpoints }
    func adapter(_ settings: RBMSettings) -> any ProviderChannelAdapter { RBMAdapter(settings: settings) }
}

struct MessengerRegistration: ProviderChannelRegistration {
    func section(in configuration: GatewayConfiguration) -> MessengerConfigurationSection? { configuration.messenger }
    func setSection(_ section: MessengerConfigurationSection?, in configuration: inout GatewayConfiguration) {
        configuration.messenger = section
    }
    var webhookEndpoints: [WebhookEndpoint] { MessengerAdapter.webhookEndpoints }
    func adapter(_ settings: MessengerSettings) -> any ProviderChannelAdapter { MessengerAdapter(settings: settings) }
}

extension GatewayConfiguration {
    /// Each registered provider channel with its section's key in the file and the environment
    /// variables that set it.
    public static var providerChannels: [(channel: SwitchboardCore.Channel, key: String, environmentKeys: [String])] {
        ChannelRegistry.providers.map { ($0.channel, $0.key, $0.environmentKeys) }
    }

    /// The provider APIs' base URLs of the configured sections.
    public var providerAPIBaseURLs: [String] {
        ChannelRegistry.providers.compactMap { $0.apiBaseURL(in: self) }
    }
}
