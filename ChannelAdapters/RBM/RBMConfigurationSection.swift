import Foundation
import SwitchboardCore

/// The `rbm` section of the gateway configuration and its `RBM_*` environment variables.
public struct RBMConfigurationSection: ChannelConfigurationSection {
    public var agentId: String?
    public var clientToken: String?
    /// A static OAuth token; or else `serviceAccountFile`.
    public var accessToken: String?
    /// A Google service-account JSON key: tokens are minted from it and refreshed.
    public var serviceAccountFile: String?
    public var apiBaseURL: String = Self.defaultAPIBaseURL

    public static let defaultAPIBaseURL = "https://rcsbusinessmessaging.googleapis.com"
    public static let channel = Channel.rcs
    public static let key = "rbm"
    public static let environmentKeys = ["RBM_AGENT_ID", "RBM_CLIENT_TOKEN", "RBM_ACCESS_TOKEN", "RBM_SERVICE_ACCOUNT_FILE", "RBM_API_BASE_URL"]
    public static let missingCredentialsHint = "set RBM_AGENT_ID, RBM_CLIENT_TOKEN and RBM_ACCESS_TOKEN (or RBM_SERVICE_ACCOUNT_FILE)"

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
        clientToken = try c.decodeIfPresent(String.self, forKey: .clientToken)
        accessToken = try c.decodeIfPresent(String.self, forKey: .accessToken)
        serviceAccountFile = try c.decodeIfPresent(String.self, forKey: .serviceAccountFile)
        apiBaseURL = try c.decodeIfPresent(String.self, forKey: .apiBaseURL) ?? Self.defaultAPIBaseURL
    }

    public mutating func apply(environment env: [String: String]) {
        if let value = env["RBM_AGENT_ID"] { agentId = value }
        if let value = env["RBM_CLIENT_TOKEN"] { clientToken = value }
        if let value = env["RBM_ACCESS_TOKEN"] { accessToken = value }
        if let value = env["RBM_SERVICE_ACCOUNT_FILE"] { serviceAccountFile = value }
        if let value = env["RBM_API_BASE_URL"] { apiBaseURL = value }
    }

    public var problems: [String] {
        var problems: [String] = []
        let hasToken = accessToken?.isEmpty == false
        let hasServiceAccount = serviceAccountFile?.isEmpty == false
        let given = [agentId, clientToken].filter { $0?.isEmpty == false }.count + (hasToken || hasServiceAccount ? 1 : 0)
        if given != 0 && given != 3 {
            problems.append("rbm: agentId (RBM_AGENT_ID), clientToken (RBM_CLIENT_TOKEN) and accessToken (RBM_ACCESS_TOKEN) or serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE) go together")
        }
        if hasToken && hasServiceAccount {
            problems.append("rbm: accessToken (RBM_ACCESS_TOKEN) and serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE) are two ways to authorize; set one")
        }
        if let file = serviceAccountFile, hasServiceAccount, case .failure(let problem) = Self.loadServiceAccount(file) {
            problems.append("rbm.serviceAccountFile (RBM_SERVICE_ACCOUNT_FILE): \(problem.description)")
        }
        if !(apiBaseURL.hasPrefix("http://") || apiBaseURL.hasPrefix("https://")) {
            problems.append("rbm.apiBaseURL: '\(apiBaseURL)' must start with http:// or https://")
        }
        return problems
    }

    /// Nil when the agent id, client token or credentials (an access token, or a service-account
    /// file that reads as one) are missing; the file's problems are in `problems`.
    public func settings(publicURL: String) -> RBMSettings? {
        guard let agent = agentId, !agent.isEmpty, let client = clientToken, !client.isEmpty else { return nil }
        if let file = serviceAccountFile, !file.isEmpty {
            guard case .success(let account) = Self.loadServiceAccount(file) else { return nil }
            return RBMSettings(agentId: agent, clientToken: client, credentials: .serviceAccount(account), apiBaseURL: apiBaseURL)
        }
        guard let access = accessToken, !access.isEmpty else { return nil }
        return RBMSettings(agentId: agent, clientToken: client, accessToken: access, apiBaseURL: apiBaseURL)
    }

    public var secrets: [(name: String, value: String?)] {
        [("rbm.clientToken (RBM_CLIENT_TOKEN)", clientToken), ("rbm.accessToken (RBM_ACCESS_TOKEN)", accessToken)]
    }

    /// A service-account key file, read and checked; the failure names the file and the field.
    public static func loadServiceAccount(_ path: String) -> Result<GoogleServiceAccount, GoogleServiceAccount.KeyError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(.init(description: "\(path) cannot be read"))
        }
        guard data.count <= 64 * 1024 else { return .failure(.init(description: "\(path) is larger than a key file (64 KiB)")) }
        do {
            return .success(try GoogleServiceAccount(json: Array(data)))
        } catch {
            return .failure(.init(description: "\(path): \(error.description)"))
        }
    }
}

extension RBMConfigurationSection {
    public var environment: [String: String] {
        var environment = ["RBM_API_BASE_URL": apiBaseURL]
        environment["RBM_AGENT_ID"] = agentId
        environment["RBM_CLIENT_TOKEN"] = clientToken
        environment["RBM_ACCESS_TOKEN"] = accessToken
        environment["RBM_SERVICE_ACCOUNT_FILE"] = serviceAccountFile
        return environment
    }

    /// The simulator's RBM agent, authorized by a static token.
    public static var publishedSimulatorAccount: Self {
        var account = Self()
        account.agentId = "switchboard-simulator-agent"
        account.clientToken = "simulator-rbm-client-token"
        account.accessToken = "simulator-rbm-access-token"
        return account
    }

    public static func randomSimulatorAccount() -> Self {
        var account = publishedSimulatorAccount
        account.clientToken = randomHex(16)
        account.accessToken = randomHex(24)
        return account
    }

    public mutating func fillCredentials(from account: Self) {
        if agentId?.isEmpty ?? true { agentId = account.agentId }
        if clientToken?.isEmpty ?? true { clientToken = account.clientToken }
        // A service-account file (the simulator then plays its token endpoint) takes the token's place.
        if (accessToken?.isEmpty ?? true) && (serviceAccountFile?.isEmpty ?? true) {
            (accessToken, serviceAccountFile) = (account.accessToken, account.serviceAccountFile)
        }
    }

    /// With a service-account file, its public key (PEM), or why the file does not read as a key:
    /// the simulator's token endpoint accepts the JWTs that key verifies. Nil without a file.
    public var serviceAccountPublicKey: Result<String, GoogleServiceAccount.KeyError>? {
        guard let file = serviceAccountFile, !file.isEmpty else { return nil }
        return Self.loadServiceAccount(file).map(\.publicKeyPEM)
    }
}
