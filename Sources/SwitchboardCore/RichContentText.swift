import Foundation

/// Rich content as plain text, for a channel without cards or buttons (SMS, and RCS or Messenger
/// where a part cannot be carried): each card becomes a block of lines, each action a line, and
/// reply actions join the quick replies as numbered choices. Pure; docs/outbound.md shows examples.
public enum RichContentText {
    /// The replies a contact can choose by number, in the order they are numbered: the quick
    /// replies, then the cards' reply actions, then the message's.
    public static func replyChoices(_ content: Content) -> [Content.QuickReply] {
        var choices = content.quickReplies
        for action in content.cards.flatMap(\.actions) + content.actions {
            if case .reply(let title, let payload) = action { choices.append(.init(title: title, payload: payload)) }
        }
        return choices
    }

    /// A Google Maps link to a point.
    public static func mapLink(latitude: Double, longitude: Double) -> String {
        "https://maps.google.com/?q=\(latitude),\(longitude)"
    }

    /// The line an action becomes; nil for a reply (numbered instead).
    public static func line(for action: Content.Action) -> String? {
        switch action {
        case .reply:
            return nil
        case .openUrl(let title, let url):
            return "\(title): \(url)"
        case .dial(let title, let phone):
            return "\(title): \(phone)"
        case .shareLocation(let title):
            return "\(title): reply with your location"
        case .viewLocation(let title, let latitude, let longitude, let label):
            return "\(title): " + [label, mapLink(latitude: latitude, longitude: longitude)].compactMap { $0 }.joined(separator: " ")
        case .calendar(let title, let start, let end, let eventTitle, let description):
            let when = "\(eventTitle), \(start) to \(end)"
            return "\(title): " + ([when] + [description].compactMap { $0 }).joined(separator: ". ")
        }
    }

    /// A place as lines for a channel that cannot send one: its label (when it has one) and a
    /// Google Maps link.
    public static func lines(for location: Content.Location) -> [String] {
        [location.label, mapLink(latitude: location.latitude, longitude: location.longitude)].compactMap { $0 }.filter { !$0.isEmpty }
    }

    /// One card as lines: title, description, the media's link (unless `mediaCarried`), actions.
    public static func lines(for card: Content.Card, mediaCarried: Bool) -> [String] {
        var lines: [String] = []
        if let title = card.title, !title.isEmpty { lines.append(title) }
        if let description = card.description, !description.isEmpty { lines.append(description) }
        if let media = card.media, !mediaCarried { lines.append(media.url) }
        lines += card.actions.compactMap(line(for:))
        return lines
    }

    /// The whole message as text: its text, each card (blank lines between), the message's actions,
    /// then the numbered choices ("Reply 1 for Yes, 2 for No"). `carriedMedia` holds the media URLs
    /// the channel sends as media (an MMS picture), which are then not repeated as links.
    public static func text(_ content: Content, carriedMedia: Set<String> = []) -> String {
        var blocks: [String] = []
        if let text = content.text, !text.isEmpty { blocks.append(text) }
        for card in content.cards {
            let lines = lines(for: card, mediaCarried: card.media.map { carriedMedia.contains($0.url) } ?? false)
            if !lines.isEmpty { blocks.append(lines.joined(separator: "\n")) }
        }
        let actionLines = content.actions.compactMap(line(for:))
        if !actionLines.isEmpty { blocks.append(actionLines.joined(separator: "\n")) }
        var text = blocks.joined(separator: "\n\n")
        let choices = replyChoices(content)
        if !choices.isEmpty {
            let list = choices.enumerated().map { index, reply in
                index == 0 ? "Reply \(index + 1) for \(reply.title)" : "\(index + 1) for \(reply.title)"
            }
            text += (text.isEmpty ? "" : "\n") + list.joined(separator: ", ")
        }
        return text
    }
}
