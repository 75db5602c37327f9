import SwitchboardCore

/// The `messenger` section of the gateway configuration and its `MESSENGER_*` environment variables.
public struct MessengerConfigurationSection: ChannelConfigurationSection {
    public var appSecret: String?
    public var verifyToken: String?
    public var pageAccessToken: String?
    public var pageId: String?
    public var apiBaseURL: String = Self.defaultAPIBaseURL
    public var apiVersion: String = "v21.0"
    /// Whether the app may send `HUMAN_AGENT`-tagged agent replies up to 7 days after the contact's
    /// last message (it needs Meta's permission); otherwise replies outside 24 hours are refused.
    public var allowHumanAgentTag: Bool = false

    public static let defaultAPIBaseURL = "https://graph.facebook.com"
    public static let channel = Channel.messenger
    public static let key = "messenger"
    public static let environmentKeys = [
        "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_PAGE_ID",
        "MESSENGER_API_BASE_URL", "MESSENGER_API_VERSION",
    ]
    public static let missingCredentialsHint = "set MESSENGER_APP_SECRET, MESSENGER_VERIFY_TOKEN and MESSENGER_PAGE_ACCESS_TOKEN"

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        appSecret = try c.decodeIfPresent(String.self, forKey: .appSecret)
        verifyToken = try c.decodeIfPresent(String.self, forKey: .verifyToken)
        pageAccessToken = try c.decodeIfPresent(String.self, forKey: .pageAccessToken)
        pageId = try c.decodeIfPresent(String.self, forKey: .pageId)
        apiBaseURL = try c.decodeIfPresent(String.self, forKey: .apiBaseURL) ?? Self.defaultAPIBaseURL
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? "v21.0"
        allowHumanAgentTag = try c.decodeIfPresent(Bool.self, forKey: .allowHumanAgentTag) ?? false
    }

    public mutating func apply(environment env: [String: String]) {
        if let value = env["MESSENGER_APP_SECRET"] { appSecret = value }
        if let value = env["MESSENGER_VERIFY_TOKEN"] { verifyToken = value }
        if let value = env["MESSENGER_PAGE_ACCESS_TOKEN"] { pageAccessToken = value }
        if let value = env["MESSENGER_PAGE_ID"] { pageId = value }
        if let value = env["MESSENGER_API_BASE_URL"] { apiBaseURL = value }
        if let value = env["MESSENGER_API_VERSION"] { apiVersion = value }
    }

    public var problems: [String] {
        var problems: [String] = []
        let given = [appSecret, verifyToken, pageAccessToken].filter { $0?.isEmpty == false }.count
        if given != 0 && given != 3 {
            problems.append("messenger: appSecret (MESSENGER_APP_SECRET), verifyToken (MESSENGER_VERIFY_TOKEN) and pageAccessToken (MESSENGER_PAGE_ACCESS_TOKEN) go together")
        }
        if !(apiBaseURL.hasPrefix("http://") || apiBaseURL.hasPrefix("https://")) {
            problems.append("messenger.apiBaseURL: '\(apiBaseURL)' must start with http:// or https://")
        }
        return problems
    }

    public func settings(publicURL: String) -> MessengerSettings? {
        guard let secret = appSecret, !secret.isEmpty, let verify = verifyToken, !verify.isEmpty,
              let token = pageAccessToken, !token.isEmpty
        else { return nil }
        return MessengerSettings(
            appSecret: secret, verifyToken: verify, pageAccessToken: token, pageId: pageId, apiBaseURL: apiBaseURL,
            apiVersion: apiVersion)
    }

    public var secrets: [(name: String, value: String?)] {
        [
            ("messenger.appSecret (MESSENGER_APP_SECRET)", appSecret),
            ("messenger.verifyToken (MESSENGER_VERIFY_TOKEN)", verifyToken),
            ("messenger.pageAccessToken (MESSENGER_PAGE_ACCESS_TOKEN)", pageAccessToken),
        ]
    }
}

extension MessengerConfigurationSection {
    public var environment: [String: String] {
        var environment = ["MESSENGER_API_BASE_URL": apiBaseURL, "MESSENGER_API_VERSION": apiVersion]
        environment["MESSENGER_APP_SECRET"] = appSecret
        environment["MESSENGER_VERIFY_TOKEN"] = verifyToken
        environment["MESSENGER_PAGE_ACCESS_TOKEN"] = pageAccessToken
        environment["MESSENGER_PAGE_ID"] = pageId
        return environment
    }

    /// The simulator's Messenger app and page.
    public static var publishedSimulatorAccount: Self {
        var account = Self()
        account.appSecret = "simulator-messenger-app-secret"
        account.verifyToken = "simulator-verify-token"
        account.pageAccessToken = "simulator-page-access-token"
        account.pageId = "100000000000001"
        return account
    }

    public static func randomSimulatorAccount() -> Self {
        var account = publishedSimulatorAccount
        account.appSecret = randomHex(16)
        account.verifyToken = randomHex(12)
        account.pageAccessToken = randomHex(24)
        return account
    }

    public mutating func fillCredentials(from account: Self) {
        if appSecret?.isEmpty ?? true { appSecret = account.appSecret }
        if verifyToken?.isEmpty ?? true { verifyToken = account.verifyToken }
        if pageAccessToken?.isEmpty ?? true { pageAccessToken = account.pageAccessToken }
        if pageId?.isEmpty ?? true { pageId = account.pageId }
    }
}
