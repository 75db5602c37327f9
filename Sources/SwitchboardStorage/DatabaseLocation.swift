import Foundation

/// Where the gateway keeps its data, as `SWITCHBOARD_DATABASE` (or `database`) names it:
/// `sqlite:PATH` or a plain path for the embedded SQLite file, `postgres://` or `postgresql://`
/// for a PostgreSQL server shared by several instances.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Parses a database setting; the error names the problem, never the password.
    public init(parsing value: String) throws(DatabaseLocationError) {
        let lowered = value.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: value))
            return
        }
        if value.hasPrefix("sqlite:") {
            let path = String(value.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw DatabaseLocationError("sqlite: needs a file path (sqlite:PATH)") }
            self = .sqlite(path: path)
            return
        }
        guard !value.isEmpty else { throw DatabaseLocationError("must not be empty") }
        guard !value.contains("://") else {
            throw DatabaseLocationError("'\(value.prefix { $0 != ":" })://' is not a database this gateway knows (sqlite:PATH or postgres://)")
        }
        self = .sqlite(path: value)
    }
}

/// A problem with the database setting, safe to print (no password).
public struct DatabaseLocationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// A PostgreSQL server and database: `postgres://user:password@host:port/database?sslmode=...`.
public struct PostgresLocation: Sendable, Equatable {
    /// libpq's `sslmode` values (https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// `prefer` when the URL does not say, as libpq.
    public var sslMode: SSLMode

    /// `host:port`, for messages about reaching the server.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The whole URL, password included, for handing to a child process's environment (never to a log).
    public var connectionURL: String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let user = username.addingPercentEncoding(withAllowedCharacters: allowed) ?? username
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) } ?? ""
        let name = database.addingPercentEncoding(withAllowedCharacters: allowed) ?? database
        return "postgres://\(user)\(secret)@\(endpoint)/\(name)?sslmode=\(sslMode.rawValue)"
    }

    /// The URL without its password, for logs and errors.
    public var redacted: String {
        "postgres://\(username)@\(endpoint)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, sslMode: SSLMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    public init(parsing value: String) throws(DatabaseLocationError) {
        guard let schemeEnd = value.range(of: "://") else { throw DatabaseLocationError("a postgres URL starts with postgres://") }
        var rest = Substring(value[schemeEnd.upperBound...])
        // The credentials first, up to the last '@': a password holding '/', '?' or ':' unencoded
        // must neither split the URL elsewhere nor appear in an error message.
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        // rest is now host[:port], with an IPv6 host in brackets.
        var host: String
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw DatabaseLocationError("the IPv6 host lacks its closing ']'") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw DatabaseLocationError("unexpected text after the host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        host = host.removingPercentEncoding ?? host
        guard !host.isEmpty else { throw DatabaseLocationError("the URL names no host") }
        var port = 5432
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw DatabaseLocationError("'\(portText)' is not a TCP port (1-65535)")
            }
            port = parsed
        }
        var username = ""
        var password: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                username = String(userInfo[..<colon])
                let secret = String(userInfo[userInfo.index(after: colon)...])
                password = secret.removingPercentEncoding ?? secret
            } else {
                username = String(userInfo)
            }
            username = username.removingPercentEncoding ?? username
        }
        guard !username.isEmpty else { throw DatabaseLocationError("the URL names no user (postgres://USER:PASSWORD@HOST:PORT/DATABASE)") }
        let database = String(path).removingPercentEncoding ?? String(path)
        guard !database.isEmpty, !database.contains("/") else {
            throw DatabaseLocationError("the URL names no database (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        var sslMode = SSLMode.prefer
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? String(parts[1]) : ""
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw DatabaseLocationError(
                        "sslmode '\(value)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            default:
                throw DatabaseLocationError("the URL parameter '\(key)' is not supported (only sslmode)")
            }
        }
        self.init(host: host, port: port, username: username, password: password, database: database, sslMode: sslMode)
    }
}
