import Foundation
/// How providers' reports move an outbound message (docs/outbound.md): forward only, `failed` is
/// final, and a delivered message does not become failed. Pure, so every storage backend applies
/// the same rules.
public enum StatusRules {
    /// A provider's report on one message.
    public struct Report: Sendable, Equatable {
        public var status: MessageStatus
        public var error: MessageError?

        public init(status: MessageStatus, error: MessageError? = nil) {
            self.status = status
            self.error = error
        }
    }

    /// The message's status and error after `report`, or nil when the report would move it backwards
    /// (a duplicate or late callback): then nothing is written.
    public static func applying(_ report: Report, to status: MessageStatus, error: MessageError?) -> Report? {
        guard status.canMove(to: report.status) else { return nil }
        return Report(status: report.status, error: report.error ?? error)
    }

    /// `message` moved forward by a provider's report (status, error, update time), or nil when the
    /// report would move it backwards: what each store writes back.
    public static func applying(_ update: StatusUpdate, to message: Message, at now: Date) -> Message? {
        guard let outcome = applying(Report(status: update.status, error: update.error), to: message.status, error: message.error)
        else { return nil }
        var moved = message
        moved.status = outcome.status
        moved.error = outcome.error
        moved.updatedAt = now
        return moved
    }

    /// Reports that arrived before the send's answer was recorded, applied in status order (they
    /// may have arrived in any order): the furthest that the rules allow wins.
    public static func applying(early reports: [Report], to status: MessageStatus, error: MessageError?) -> Report {
        var current = Report(status: status, error: error)
        for report in reports.sorted(by: { $0.status.rank < $1.status.rank }) {
            current = applying(report, to: current.status, error: current.error) ?? current
        }
        return current
    }

    /// The statuses a watermark ("everything up to here is `status`") moves forward: those that can
    /// move to it, except `received` (inbound messages are not the provider's to mark).
    public static func statusesAdvanced(byWatermark status: MessageStatus) -> [MessageStatus] {
        MessageStatus.allCases.filter { $0 != .received && $0.canMove(to: status) }
    }

    /// How long a report for an unknown provider id is kept in case it is ours and the send's answer
    /// is still to be recorded; a provider id that never turns up is someone else's.
    public static let earlyStatusRetentionSeconds: Double = 24 * 3600
}
