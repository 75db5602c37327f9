/// Where a provider's inbound media comes from, for the gateway's media fetcher: the hosts it is
/// served from (redirects are followed only among them) and what a request for it needs.
public protocol InboundMediaSource: Sendable {
    /// Hosts the provider's media is served from; an entry starting with a dot takes its
    /// subdomains (`.fbcdn.net`). The adapter's configured API host is always among them.
    var mediaHosts: [String] { get }
    /// The host of the provider API's base URL as the operator configured it (the simulator's on
    /// a development machine): like the provider calls themselves, not checked against
    /// `SWITCHBOARD_ALLOW_PRIVATE_URLS` (../shared/CONTRACT.md).
    var configuredAPIHosts: [String] { get }
    /// Headers for fetching `url`: credentials only for the provider's own API host (never for a
    /// CDN a redirect leads to).
    func mediaRequestHeaders(for url: String) -> [(name: String, value: String)]
}

extension InboundMediaSource {
    public func mediaRequestHeaders(for url: String) -> [(name: String, value: String)] { [] }

    /// The host of a configured API base URL, as a media host.
    public static func apiHost(_ baseURL: String) -> [String] {
        MediaFetchRules.host(of: baseURL).map { [$0] } ?? []
    }
}
