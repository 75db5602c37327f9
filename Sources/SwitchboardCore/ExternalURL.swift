/// URLs that come from outside the gateway — attachments, card media, actions, contact photos — are
/// shown to agents in the console and to visitors in the widget, and handed to providers. Only an
/// absolute `https:` URL with a host (and `http:` where the channel's provider fetches it) passes:
/// never `javascript:`, `data:`, a relative path or a scheme-relative `//host/…`.
public enum ExternalURL {
    /// Longer URLs are refused: no provider documents a longer media URL, and a long one is a way
    /// to make every trail heavy.
    public static let maxLength = 2048

    /// Why a URL was refused, as a sentence naming the rule.
    public static func problem(_ text: String, allowHTTP: Bool) -> String? {
        if text.utf8.count > maxLength { return "is longer than \(maxLength) bytes" }
        let bytes = Array(text.utf8)
        // Spaces and control characters (tab, newline, DEL) let a URL be read differently by
        // different parsers; browsers strip some of them before looking at the scheme.
        if bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) {
            return "contains spaces, backslashes or control characters"
        }
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            rest = text.dropFirst("https://".count)
        } else if allowHTTP, lowered.hasPrefix("http://") {
            rest = text.dropFirst("http://".count)
        } else {
            return allowHTTP ? "must be an absolute http: or https: URL" : "must be an absolute https: URL"
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // user:password@ hides the real host from a quick read ("https://bank.example@evil.example").
        if authority.contains("@") { return "must not carry a user name or password" }
        let host = authority.hasPrefix("[") ? authority.prefix { $0 != "]" } : authority.prefix { $0 != ":" }
        if host.isEmpty || host == "[" { return "has no host" }
        return nil
    }

    /// True when `text` passes `problem(_:allowHTTP:)`.
    public static func isAcceptable(_ text: String, allowHTTP: Bool) -> Bool {
        problem(text, allowHTTP: allowHTTP) == nil
    }
}

extension Channel {
    /// Whether plain `http:` media URLs are acceptable on this channel: Twilio and Meta fetch media
    /// over either scheme; RBM's files and the web-chat widget (embedded in https pages, where
    /// browsers block mixed content) need `https:`.
    public var allowsPlainHTTPMedia: Bool {
        self == .sms || self == .messenger
    }
}

extension Content {
    /// The first URL in the content that `ExternalURL` refuses for `channel`, with the field it is
    /// in (`attachments[0].url`) and why; nil when every URL is acceptable.
    public func urlProblem(for channel: Channel?) -> String? {
        let allowHTTP = channel?.allowsPlainHTTPMedia ?? false
        for (index, attachment) in attachments.enumerated() {
            if let problem = ExternalURL.problem(attachment.url, allowHTTP: allowHTTP) {
                return "attachments[\(index)].url \(problem)"
            }
        }
        return nil
    }

    /// The content without the attachments whose URLs `ExternalURL` refuses for `channel`: what a
    /// provider sent that the gateway can carry safely.
    public func droppingUnacceptableURLs(for channel: Channel) -> (content: Content, dropped: Int) {
        var content = self
        content.attachments = attachments.filter { ExternalURL.isAcceptable($0.url, allowHTTP: channel.allowsPlainHTTPMedia) }
        return (content, attachments.count - content.attachments.count)
    }
}

extension Content.Location {
    /// A location only when both numbers are coordinates (latitude within ±90, longitude within ±180).
    public static func checked(latitude: Double, longitude: Double, label: String? = nil) -> Content.Location? {
        guard latitude.isFinite, longitude.isFinite, abs(latitude) <= 90, abs(longitude) <= 180 else { return nil }
        return Content.Location(latitude: latitude, longitude: longitude, label: label)
    }
}
