/// What the Twilio adapter needs to know of the account and of the gateway.
public struct TwilioSettings: Sendable, Equatable {
    public var accountSid: String
    public var authToken: String
    /// The sender number; either this or `messagingServiceSid` is required to send.
    public var from: String?
    public var messagingServiceSid: String?
    /// `https://api.twilio.com`, or the simulator's address.
    public var apiBaseURL: String
    /// `{SWITCHBOARD_PUBLIC_URL}/webhooks/twilio/status`, sent as `StatusCallback` with every message.
    public var statusCallbackURL: String
    /// Whether the sender number sends MMS (US/Canada long codes do); without it, media goes as links.
    public var mms: Bool = true

    public init(
        accountSid: String, authToken: String, from: String?, messagingServiceSid: String?,
        apiBaseURL: String, statusCallbackURL: String
    ) {
        self.accountSid = accountSid
        self.authToken = authToken
        self.from = from
        self.messagingServiceSid = messagingServiceSid
        self.apiBaseURL = apiBaseURL
        self.statusCallbackURL = statusCallbackURL
    }

    /// The Messages resource: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    public var messagesURL: String {
        apiRoot + "/2010-04-01/Accounts/" + accountSid + "/Messages.json"
    }

    /// The API base without a trailing slash (Twilio's `*_uri` paging fields are paths under it).
    public var apiRoot: String {
        var base = apiBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}
