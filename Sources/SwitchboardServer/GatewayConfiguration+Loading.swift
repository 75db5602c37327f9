import Foundation
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
        if let value = env["SWITCHBOARD_MEDIA_DIR"] { media.directory = value }
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
        for registration in ChannelRegistry.providers {
            registration.applyEnvironment(env, to: &self)
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
        problems += media.problems
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
        for registration in ChannelRegistry.providers {
            problems += registration.problems(in: self)
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
