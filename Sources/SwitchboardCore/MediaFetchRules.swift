import Foundation

/// The rules of fetching inbound media into the gateway: which hosts a provider's media may come
/// from (redirects are followed only within them), what an answer means, and when to try again.
/// Pure; `MediaFetcher` does the I/O.
public enum MediaFetchRules {
    /// Redirects followed from one media URL (Twilio's API answers with a redirect to its CDN).
    public static let maxRedirects = 5
    /// Waits before the 2nd, 3rd, … attempt; after the last, the fetch has failed.
    public static let retryDelays: [Double] = [5, 30, 120, 600, 3_600]
    /// A fetch still failing this long after the message came is given up.
    public static let giveUpAfterSeconds: Double = 24 * 3600

    /// The lower-cased host of an http(s) URL, without brackets or port; nil otherwise.
    public static func host(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else { return nil }
        return host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    }

    /// Whether `host` is one of `hosts`: equal, or a subdomain of an entry that starts with a dot
    /// (`.fbcdn.net` takes `scontent.xx.fbcdn.net`).
    public static func host(_ host: String, isIn hosts: [String]) -> Bool {
        hosts.contains { entry in
            let entry = entry.lowercased()
            return entry.hasPrefix(".") ? host.hasSuffix(entry) || host == String(entry.dropFirst()) : host == entry
        }
    }

    /// Where a redirect points, resolved against the URL that answered it; nil unless http(s).
    public static func redirectTarget(_ location: String, from url: String) -> String? {
        guard let base = URL(string: url), let target = URL(string: location, relativeTo: base)?.absoluteURL,
              let scheme = target.scheme?.lowercased(), scheme == "https" || scheme == "http"
        else { return nil }
        return target.absoluteString
    }

    /// What to do after an attempt that did not store the file.
    public enum Next: Equatable, Sendable {
        case retry(after: Double)
        case giveUp
    }

    /// Whether to try again: transient problems (5xx, 408, 429, network) while attempts and time
    /// remain; never for a permanent one (another 4xx, a type or size the gateway does not keep).
    public static func next(afterAttempt attempts: Int, transient: Bool, age: Double) -> Next {
        guard transient, attempts <= retryDelays.count, age < giveUpAfterSeconds else { return .giveUp }
        return .retry(after: retryDelays[max(0, attempts - 1)])
    }

    /// Whether an HTTP status is worth another attempt.
    public static func isTransient(status: Int) -> Bool {
        status >= 500 || status == 408 || status == 429
    }
}
