import Foundation

/// Whether a reaction report changes what a message carries. Pure.
public enum ReactionRules {
    /// A report replaces the stored reaction unless it changes nothing (a repeated webhook) or it
    /// is older than the reaction stored (reports that crossed: the later one wins).
    public static func replaces(_ stored: Message.Reaction?, with new: Message.Reaction?, reportedAt: Date?) -> Bool {
        if stored == new { return false }
        if let stored, let reportedAt, reportedAt < stored.at { return false }
        return true
    }
}
