import Foundation
import RBMAdapter
import SwitchboardCore

/// A configuration that cannot be used, with every problem found.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension GatewayConfiguration {
    /// The default configuration file, relative to the working directory.
    public static let defaultPath = "Config/switchboard.json"

    /// Reads the file (the given path, else `SWITCHBOARD_CONFIG`, else `Config/switchboard.json` when it
    /// exists), applies the environment, and validates the result.
    public static func load(path: String?, environment: [String: String]) throws -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        let explicit = path ?? environment["SWITCHBOARD_CONFIG"]
        let file = explicit ?? (FileManager.default.fileExists(atPath: defaultPath) ? defaultPath : nil)
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(problems: ["\(file): cannot be read"])
            }
            configuration = try decode(data, file: file)
        }
        try configuration.apply(environment: environment)
        try configuration.validate()
        return configuration
    }

    /// A configuration file's bytes, decoded (not yet validated); the problem names `file`.
    public static func decode(_ data: Data, file: String) throws -> GatewayConfiguration {
        do {
            return try JSONDecoder().decode(GatewayConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw ConfigurationError(problems: ["\(file): \(Self.describe(error))"])
        }
    }

    /// Environment variables override the file (names in docs/api.md).
    public mutating func apply(environment env: [String: String]) throws {
        var problems: [String] = []
        if let value = env["SWITCHBOARD_HOST"] { host = value }
        if let value = env["SWITCHBOARD_PORT"] {
            if let port = Int(value) { self.port = port } else { problems.append("SWITCHBOARD_PORT: '\(value)' is not a number") }
        }
        if let value = env["SWITCHBOARD_DATABASE"] { database = value }
        if let value = env["SWITCHBOARD_DATABASE_POOL_SIZE"] {
            if let size = Int(value) { databasePoolSize = size } else {
                problems.append("SWITCHBOARD_DATABASE_POOL_SIZE: '\(value)' is not a number")
            }
        }
        if let value = env["SWITCHBOARD_PUBLIC_URL"] { publicURL = value }
        if let value = env["SWITCHBOARD_API_TOKEN"] { apiToken = value }
        if let value = env["SWITCHBOARD_MAX_BODY_BYTES"] {
            if let bytes = Int(value) { maxBodyBytes = bytes } else { problems.append("SWITCHBOARD_MAX_BODY_BYTES: '\(value)' is not a number") }
        }
        if let value = env["SWITCHBOARD_BOT"] {
            if let kind = BotSettings.Kind(rawValue: value) { bot.kind = kind } else {
                problems.append("SWITCHBOARD_BOT: '\(value)' is not one of echo, flow, http, none")
            }
        }
        if let value = env["SWITCHBOARD_BOT_FLOW"] { bot.flow = value }
        if let url = env["SWITCHBOARD_BOT_URL"] {
            bot.http = RemoteBotSettings(url: url, secret: env["SWITCHBOARD_BOT_SECRET"] ?? bot.http?.secret ?? "")
        }
        if let value = env["SWITCHBOARD_WEBCHAT_SECRET"] { webchat.secret = value }
        if let value = env["SWITCHBOARD_METRICS_PUBLIC"] {
            switch value.lowercased() {
            case "1", "true", "yes": metricsPublic = true
            case "0", "false", "no": metricsPublic = false
            default: problems.append("SWITCHBOARD_METRICS_PUBLIC: '\(value)' is not true or false")
            }
        }
        if let value = env["SWITCHBOARD_ALLOW_PRIVATE_URLS"] {
            allowPrivateURLs = value.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        }
        if let value = env["SWITCHBOARD_SHUTDOWN_TIMEOUT_SECONDS"] {
            if let seconds = Double(value), seconds.isFinite { shutdownTimeoutSeconds = seconds } else {
                problems.append("SWITCHBOARD_SHUTDOWN_TIMEOUT_SECONDS: '\(value)' is not a number of seconds")
            }
        }
        let twilioKeys = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL"]
        if twilioKeys.contains(where: { env[$0] != nil }) {
            var account = twilio ?? TwilioAccount()
            if let value = env["TWILIO_ACCOUNT_SID"] { account.accountSid = value }
            if let value = env["TWILIO_AUTH_TOKEN"] { account.authToken = value }
            if let value = env["TWILIO_FROM"] { account.from = value }
            if let value = env["TWILIO_MESSAGING_SERVICE_SID"] { account.messagingServiceSid = value }
            if let value = env["TWILIO_API_BASE_URL"] { account.apiBaseURL = value }
            twilio = account
        }
        let messengerKeys = ["MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_PAGE_ID",
                             "MESSENGER_API_BASE_URL", "MESSENGER_API_VERSION"]
        if messengerKeys.contains(where: { env[$0] != nil }) {
            var app = messenger ?? MessengerApp()
            if let value = env["MESSENGER_APP_SECRET"] { app.appSecret = value }
            if let value = env["MESSENGER_VERIFY_TOKEN"] { app.verifyToken = value }
            if let value = env["MESSENGER_PAGE_ACCESS_TOKEN"] { app.pageAccessToken = value }
            if let value = env["MESSENGER_PAGE_ID"] { app.pageId = value }
            if let value = env["MESSENGER_API_BASE_URL"] { app.apiBaseURL = value }
            if let value = env["MESSENGER_API_VERSION"] { app.apiVersion = value }
            messenger = app
        }
        let rbmKeys = ["RBM_AGENT_ID", "RBM_CLIENT_TOKEN", "RBM_ACCESS_TOKEN", "RBM_SERVICE_ACCOUNT_FILE", "RBM_API_BASE_URL"]
        if rbmKeys.contains(where: { env[$0] != nil }) {
            var agent = rbm ?? RBMAgent()
            if let value = env["RBM_AGENT_ID"] { agent.agentId = value }
            if let value = env["RBM_CLIENT_TOKEN"] { agent.clientToken = value }
            if let value = env["RBM_ACCESS_TOKEN"] { agent.accessToken = value }
            if let value = env["RBM_SERVICE_ACCOUNT_FILE"] { agent.serviceAccountFile = value }
            if let value = env["RBM_API_BASE_URL"] { agent.apiBaseURL = value }
            rbm = agent
        }
        applyEventWebhookEnvironment(env, problems: &problems)
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }

    /// Checks every setting and reports all problems at once.
    public func validate() throws {
        var problems: [String] = []
        if !(1...65535).contains(port) && port != 0 { problems.append("port: \(port) is not a TCP port (1-65535, or 0 for any free one)") }
        if host.isEmpty { problems.append("host: must not be empty") }
        if case .failure(let problem) = databaseLocation {
            problems.append("database (SWITCHBOARD_DATABASE): \(problem)")
        }
        if !(1...1000).contains(databasePoolSize) {
            problems.append("databasePoolSize (SWITCHBOARD_DATABASE_POOL_SIZE): \(databasePoolSize) is not between 1 and 1000")
        }
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) {
            problems.append("publicURL: '\(publicURL)' must start with http:// or https://")
        }
        if bot.kind == .http {
            if let http = bot.http {
                if !(http.url.hasPrefix("http://") || http.url.hasPrefix("https://")) {
                    problems.append("bot.http.url (SWITCHBOARD_BOT_URL): '\(http.url)' must start with http:// or https://")
                }
                do {
                    _ = try StandardWebhookSigner(secrets: http.secret)
                } catch {
                    problems.append("bot.http.secret (SWITCHBOARD_BOT_SECRET): \(error.description)")
                }
                if http.timeoutMilliseconds < 100 { problems.append("bot.http.timeoutMilliseconds: must be at least 100") }
                if http.maxAttempts < 1 { problems.append("bot.http.maxAttempts: must be at least 1") }
            } else {
                problems.append("bot.kind http needs bot.http {url, secret} (or SWITCHBOARD_BOT_URL and SWITCHBOARD_BOT_SECRET)")
            }
        }
        if webchat.sessionLifetimeSeconds < 60 { problems.append("webchat.sessionLifetimeSeconds: must be at least 60") }
        if let secret = webchat.secret, secret.count < 16 { problems.append("webchat.secret: use at least 16 characters") }
        if maxBodyBytes < 1024 { problems.append("maxBodyBytes: \(maxBodyBytes) is below 1024") }
        problems += limits.problems
        problems += eventWebhooks.problems
        problems += broadcasts.problems
        for range in allowPrivateURLs where AddressRange(range) == nil {
            problems.append("allowPrivateURLs (SWITCHBOARD_ALLOW_PRIVATE_URLS): '\(range)' is not a CIDR block such as 10.0.0.0/8 or fd00::/8")
        }
        if !(shutdownTimeoutSeconds >= 0 && shutdownTimeoutSeconds <= 3600) {
            problems.append("shutdownTimeoutSeconds (SWITCHBOARD_SHUTDOWN_TIMEOUT_SECONDS): must be 0 to 3600")
        }
        if outbox.concurrency < 1 { problems.append("outbox.concurrency: must be at least 1") }
        if outbox.maxAttempts < 1 { problems.append("outbox.maxAttempts: must be at least 1") }
        // The worker sleeps this long in nanoseconds (a UInt64): a larger number would trap at startup.
        if !(outbox.leaseMarginSeconds >= 1 && outbox.leaseMarginSeconds <= 3600) {
            problems.append("outbox.leaseMarginSeconds: must be between 1 and 3600")
        }
        if !(outbox.pollIntervalSeconds > 0 && outbox.pollIntervalSeconds <= 3600) {
            problems.append("outbox.pollIntervalSeconds: must be above 0 and at most 3600")
        }
        if outbox.retryBaseSeconds <= 0 || outbox.retryMaxSeconds < outbox.retryBaseSeconds {
            problems.append("outbox.retryBaseSeconds/retryMaxSeconds: need 0 < base <= max")
        }
        if let twilio {
            let hasSid = twilio.accountSid?.isEmpty == false
            let hasToken = twilio.authToken?.isEmpty == false
            if hasSid != hasToken {
                problems.append("twilio: accountSid (TWILIO_ACCOUNT_SID) and authToken (TWILIO_AUTH_TOKEN) go together")
            }
            if hasSid, twilio.from?.isEmpty != false, twilio.messagingServiceSid?.isEmpty != false {
                problems.append("twilio: set from (TWILIO_FROM) or messagingServiceSid (TWILIO_MESSAGING_SERVICE_SID)")
            }
            if !(twilio.apiBaseURL.hasPrefix("http://") || twilio.apiBaseURL.hasPrefix("https://")) {
                problems.append("twilio.apiBaseURL: '\(twilio.apiBaseURL)' must start with http:// or https://")
            }
        }
        if let messenger {
            let given = [messenger.appSecret, messenger.verifyToken, messenger.pageAccessToken].filter { $0?.isEmpty == false }.count
            if given != 0 && given != 3 {
                problems.append("messenger: appSecret (MESSENGER_APP_SECRET), verifyToken (MESSENGER_VERIFY_TOKEN) and pageAccessToken (MESSENGER_PAGE_ACCESS_TOKEN) go together")
            }
            if !(messenger.apiBaseURL.hasPrefix("http://") || messenger.apiBaseURL.hasPrefix("https://")) {
                problems.append("messenger.apiBaseURL: '\(messenger.apiBaseURL)' must start with http:// or https://")
            }
        }
        if let rbm {
            let hasToken = rbm.accessToken?.isEmpty == false
            let hasServiceAccount = rbm.serviceAccountFile?.isEmpty == false
            let given = [rbm.agentId, rbm.clientToken].filter { $0?.isEmpty == false }.count + (hasToken || hasServiceAccount ? 1 : 0)
            if given != 0 && given != 3 {
                problems.append("rbm: agentId (RBM_AGENT_ID), clientToken (RBM_CLIENT_TOKEN) and accessToken (RBM_ACCESS_TOKEN) or serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE) go together")
            }
            if hasToken && hasServiceAccount {
                problems.append("rbm: accessToken (RBM_ACCESS_TOKEN) and serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE) are two ways to authorize; set one")
            }
            if let file = rbm.serviceAccountFile, hasServiceAccount, case .failure(let problem) = Self.loadServiceAccount(file) {
                problems.append("rbm.serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE): \(problem.description)")
            }
            if !(rbm.apiBaseURL.hasPrefix("http://") || rbm.apiBaseURL.hasPrefix("https://")) {
                problems.append("rbm.apiBaseURL: '\(rbm.apiBaseURL)' must start with http:// or https://")
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
            return keys.isEmpty ? "" : "\(keys): "
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return path(context) + context.debugDescription
        case .keyNotFound(let key, let context):
            return path(context) + "missing key \(key.stringValue)"
        @unknown default:
            return "\(error)"
        }
    }
}
