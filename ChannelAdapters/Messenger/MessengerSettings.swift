/// What the Messenger adapter needs: the app's secrets and the page it speaks for.
public struct MessengerSettings: Sendable, Equatable {
    /// Signs webhooks (`X-Hub-Signature-256`).
    public var appSecret: String
    /// Answers the subscription handshake.
    public var verifyToken: String
    /// Authorizes Send API calls.
    public var pageAccessToken: String
    public var pageId: String?
    /// `https://graph.facebook.com`, or the simulator's address.
    public var apiBaseURL: String
    /// The Graph API version in Send API paths, such as `v21.0`.
    public var apiVersion: String

    public init(
        appSecret: String, verifyToken: String, pageAccessToken: String, pageId: String?, apiBaseURL: String,
        apiVersion: String
    ) {
        self.appSecret = appSecret
        self.verifyToken = verifyToken
        self.pageAccessToken = pageAccessToken
        self.pageId = pageId
        self.apiBaseURL = apiBaseURL
        self.apiVersion = apiVersion
    }

    /// `{base}/{version}/me/messages` (the access token goes in the query).
    public var sendURL: String {
        var base = apiBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        let version = apiVersion.hasPrefix("v") ? apiVersion : "v" + apiVersion
        return base + "/" + version + "/me/messages"
    }
}
