import SwitchboardCore

/// The `twilio` section of the gateway configuration and its `TWILIO_*` environment variables.
public struct TwilioConfigurationSection: ChannelConfigurationSection {
    public var accountSid: String?
    public var authToken: String?
    public var from: String?
    public var messagingServiceSid: String?
    public var apiBaseURL: String = Self.defaultAPIBaseURL
    /// Whether the sender sends MMS; without it, media goes as links in the text.
    public var mms: Bool?

    public static let defaultAPIBaseURL = "https://api.twilio.com"
    public static let channel = Channel.sms
    public static let key = "twilio"
    public static let environmentKeys = [
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL",
    ]
    public static let missingCredentialsHint = "set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)"

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accountSid = try c.decodeIfPresent(String.self, forKey: .accountSid)
        authToken = try c.decodeIfPresent(String.self, forKey: .authToken)
        from = try c.decodeIfPresent(String.self, forKey: .from)
        messagingServiceSid = try c.decodeIfPresent(String.self, forKey: .messagingServiceSid)
        apiBaseURL = try c.decodeIfPresent(String.self, forKey: .apiBaseURL) ?? Self.defaultAPIBaseURL
        mms = try c.decodeIfPresent(Bool.self, forKey: .mms)
    }

    public mutating func apply(environment env: [String: String]) {
        if let value = env["TWILIO_ACCOUNT_SID"] { accountSid = value }
        if let value = env["TWILIO_AUTH_TOKEN"] { authToken = value }
        if let value = env["TWILIO_FROM"] { from = value }
        if let value = env["TWILIO_MESSAGING_SERVICE_SID"] { messagingServiceSid = value }
        if let value = env["TWILIO_API_BASE_URL"] { apiBaseURL = value }
    }

    public var problems: [String] {
        var problems: [String] = []
        let hasSid = accountSid?.isEmpty == false
        let hasToken = authToken?.isEmpty == false
        if hasSid != hasToken {
            problems.append("twilio: accountSid (TWILIO_ACCOUNT_SID) and authToken (TWILIO_AUTH_TOKEN) go together")
        }
        if hasSid, from?.isEmpty != false, messagingServiceSid?.isEmpty != false {
            problems.append("twilio: set from (TWILIO_FROM) or messagingServiceSid (TWILIO_MESSAGING_SERVICE_SID)")
        }
        if !(apiBaseURL.hasPrefix("http://") || apiBaseURL.hasPrefix("https://")) {
            problems.append("twilio.apiBaseURL: '\(apiBaseURL)' must start with http:// or https://")
        }
        return problems
    }

    public func settings(publicURL: String) -> TwilioSettings? {
        guard let sid = accountSid, !sid.isEmpty, let token = authToken, !token.isEmpty,
              from?.isEmpty == false || messagingServiceSid?.isEmpty == false
        else { return nil }
        var settings = TwilioSettings(
            accountSid: sid, authToken: token, from: from, messagingServiceSid: messagingServiceSid,
            apiBaseURL: apiBaseURL, statusCallbackURL: publicURL + "/" + TwilioSMSAdapter.statusCallbackPath)
        settings.mms = mms ?? true
        return settings
    }

    public var secrets: [(name: String, value: String?)] {
        [("twilio.authToken (TWILIO_AUTH_TOKEN)", authToken)]
    }
}

extension TwilioConfigurationSection {
    public var environment: [String: String] {
        var environment = ["TWILIO_API_BASE_URL": apiBaseURL]
        environment["TWILIO_ACCOUNT_SID"] = accountSid
        environment["TWILIO_AUTH_TOKEN"] = authToken
        environment["TWILIO_FROM"] = from
        environment["TWILIO_MESSAGING_SERVICE_SID"] = messagingServiceSid
        return environment
    }

    /// The simulator's Twilio account: its Account SID, Auth Token and number.
    public static var publishedSimulatorAccount: Self {
        var account = Self()
        account.accountSid = "AC00000000000000000000000000000000"
        account.authToken = "simulator-twilio-auth-token"
        account.from = "+15550001111"
        return account
    }

    public static func randomSimulatorAccount() -> Self {
        var account = publishedSimulatorAccount
        account.accountSid = "AC" + randomHex(16)
        account.authToken = randomHex(16)
        return account
    }

    public mutating func fillCredentials(from account: Self) {
        if accountSid?.isEmpty ?? true { accountSid = account.accountSid }
        if authToken?.isEmpty ?? true { authToken = account.authToken }
        // A sender is a number or a messaging service: the operator's service is kept.
        if from?.isEmpty ?? true, messagingServiceSid?.isEmpty ?? true {
            (from, messagingServiceSid) = (account.from, account.messagingServiceSid)
        }
    }
}
