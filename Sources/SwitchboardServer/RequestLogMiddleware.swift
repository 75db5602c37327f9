import Foundation
import Hummingbird
import Logging

/// Logs each request's method and path, and its query with every secret-bearing value replaced by
/// `***`: the console's `?access_token=`, Meta's `hub.verify_token`, a visitor's `?token=`.
/// Hummingbird's own request logger writes the whole URI, so the API token reached the log on every
/// event stream. Headers are never logged (they carry signatures and bearer tokens).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let level: Logger.Level

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if context.logger.logLevel <= level {
            context.logger.log(level: level, "request", metadata: [
                "hb.request.method": .string(request.method.rawValue),
                "hb.request.path": .string(Self.redacted(path: request.uri.path, query: request.uri.query)),
            ])
        }
        return try await next(request, context)
    }

    /// `path?query` with the values of secret parameters replaced; the names stay, so the log still
    /// tells which was sent.
    static func redacted(path: String, query: String?) -> String {
        guard let query, !query.isEmpty else { return path }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return String(part) }
            let name = part[..<equals]
            return isSecret(name) ? name + "=***" : String(part)
        }
        return path + "?" + parts.joined(separator: "&")
    }

    /// Names that carry credentials, matched without regard to case or percent-encoding of the dot.
    static func isSecret(_ name: Substring) -> Bool {
        let lowered = name.lowercased().replacingOccurrences(of: "%2e", with: ".")
        return ["token", "secret", "password", "signature", "key", "code"].contains { lowered.contains($0) }
    }
}
