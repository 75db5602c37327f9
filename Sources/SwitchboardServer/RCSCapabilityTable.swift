import CurlHTTPClient
import Foundation
import Logging
import RBMAdapter
import SwitchboardCore
import SwitchboardStorage

/// Which rich features a phone's RCS client supports: static entries from
/// `Config/rcs-capabilities.json` (exact phone or longest prefix) first, then the database cache of
/// RBM's capability API, looked up again when older than the TTL. RBM's 404 means no RCS.
public struct RCSCapabilityTable: Sendable {
    /// The file's shape.
    public struct File: Codable, Sendable {
        public struct Entry: Codable, Sendable {
            /// An E.164 phone, or a prefix of one.
            public var match: String
            public var capable: Bool
            public var features: [String]?
            public var note: String?
        }
        /// RBM's feature names, the vocabulary of `features`.
        public var features: [String]
        public var entries: [Entry]
    }

    let file: File
    let store: any MessageStore
    let adapter: RBMAdapter?
    let client: any HTTPTransport
    /// RBM's service-account tokens, when it has them.
    let authorization: (any ProviderAuthorization)?
    let ttl: Double
    let logger: Logger

    public init(
        file: File, store: any MessageStore, adapter: RBMAdapter?, client: any HTTPTransport,
        authorization: (any ProviderAuthorization)? = nil, ttlSeconds: Double, logger: Logger
    ) {
        self.file = file
        self.store = store
        self.adapter = adapter
        self.client = client
        self.authorization = authorization
        self.ttl = ttlSeconds
        self.logger = logger
    }

    /// Reads the table; a missing file is an empty table, a malformed one an error naming it.
    public static func load(path: String?) throws -> File {
        guard let path, FileManager.default.fileExists(atPath: path) else {
            return File(features: [], entries: [])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(problems: ["\(path): cannot be read"])
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            let unknown = file.entries.flatMap { $0.features ?? [] }.filter { !file.features.contains($0) }
            if !unknown.isEmpty {
                throw ConfigurationError(problems: ["\(path): unknown features \(unknown); the list is \(file.features)"])
            }
            return file
        } catch let error as DecodingError {
            throw ConfigurationError(problems: ["\(path): \(GatewayConfiguration.describe(error))"])
        }
    }

    /// The answer for a phone.
    public enum Lookup: Sendable, Equatable {
        case known(RCSCapabilityRecord)
        /// The lookup failed for now (RBM down, or RCS not configured); try later.
        case unknown(MessageError)
    }

    /// The static entry for a phone: an exact match, else the longest matching prefix.
    public func staticEntry(for phone: String) -> File.Entry? {
        file.entries.filter { phone.hasPrefix($0.match) }.max { $0.match.count < $1.match.count }
    }

    public func capability(of phone: String, now: Date = Date()) async -> Lookup {
        if let entry = staticEntry(for: phone) {
            return .known(RCSCapabilityRecord(
                phone: phone, capable: entry.capable, features: entry.capable ? entry.features ?? file.features : [], checkedAt: now,
                source: "static"))
        }
        let cached = try? await store.rcsCapability(phone: phone)
        // An inbound RCS message proves RCS but not which features: that still wants a lookup.
        if let cached, now.timeIntervalSince(cached.checkedAt) < ttl, cached.source != "inbound" {
            return .known(cached)
        }
        guard let adapter else {
            return .unknown(MessageError(code: "channel_disabled", message: "the rcs channel is not configured"))
        }
        let request = adapter.capabilityRequest(phone: phone, requestId: UUID().uuidString)
        let answer: RBMAdapter.CapabilityAnswer
        do throws(AuthorizedProviderCall.Failure) {
            let response = try await AuthorizedProviderCall.execute(HTTPClientRequest(
                method: request.method, url: request.url, headers: request.headers.map { (name: $0.name, value: $0.value) },
                timeoutMilliseconds: 5_000), authorization: authorization, client: client)
            answer = adapter.interpretCapabilities(ProviderResponse(
                status: response.status, headers: response.headers.map { ProviderHeader($0.name, $0.value) }, body: response.body))
        } catch {
            switch error {
            case .authorization(let problem):
                answer = .failed(problem, transient: true)
            case .transport(let error):
                answer = .failed(MessageError(code: "provider_unreachable", message: error.description), transient: true)
            }
        }
        let record: RCSCapabilityRecord
        switch answer {
        case .capable(let features):
            record = RCSCapabilityRecord(phone: phone, capable: true, features: features, checkedAt: now, source: "lookup")
        case .notCapable:
            record = RCSCapabilityRecord(phone: phone, capable: false, features: [], checkedAt: now, source: "lookup")
        case .failed(let error, _):
            logger.warning("RCS capability lookup failed", metadata: ["error_code": "\(error.code)"])
            if let cached { return .known(cached) }
            return .unknown(error)
        }
        do {
            try await store.saveRCSCapability(record)
        } catch {
            logger.warning("RCS capability not cached", metadata: ["error": "\(error)"])
        }
        return .known(record)
    }
}
