import Foundation
import SwitchboardCore
import SwitchboardStorage

extension GatewayConfiguration {
    /// Where media is kept and how much (docs/media.md).
    public struct MediaSettings: Codable, Sendable, Equatable {
        /// The media directory (`SWITCHBOARD_MEDIA_DIR`); by default `media` beside the SQLite
        /// file, or `./media` on PostgreSQL (several instances need one shared directory).
        public var directory: String?
        /// The largest file kept (upload or fetched), in bytes.
        public var maxBytes: Int = MediaRules.defaultMaxBytes
        /// How long a signed media URL works, in seconds (providers fetch within minutes; the
        /// console's trail shows pictures while it works).
        public var urlLifetimeSeconds: Int = 7 * 24 * 3600

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = MediaSettings()
            directory = try c.decodeIfPresent(String.self, forKey: .directory)
            maxBytes = try c.decodeIfPresent(Int.self, forKey: .maxBytes) ?? d.maxBytes
            urlLifetimeSeconds = try c.decodeIfPresent(Int.self, forKey: .urlLifetimeSeconds) ?? d.urlLifetimeSeconds
        }

        var problems: [String] {
            var problems: [String] = []
            if !(1024...(1 << 30)).contains(maxBytes) { problems.append("media.maxBytes: must be 1024 to 1073741824") }
            if !(60...(90 * 24 * 3600)).contains(urlLifetimeSeconds) { problems.append("media.urlLifetimeSeconds: must be 60 to 7776000 (90 days)") }
            if directory?.isEmpty == true { problems.append("media.directory (SWITCHBOARD_MEDIA_DIR): must not be empty") }
            return problems
        }
    }

    /// The media directory this configuration names.
    public var mediaDirectoryPath: String {
        if let directory = media.directory { return directory }
        if case .success(.sqlite(let path)) = databaseLocation {
            let folder = (path as NSString).deletingLastPathComponent
            return folder.isEmpty ? "media" : folder + "/media"
        }
        return "media"
    }
}
