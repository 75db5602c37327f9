import Foundation
import SwitchboardCore

/// The messages the simulator's fake providers accepted, kept as the providers keep them: Twilio's
/// for its Messages list, RBM's `messageId`s so that a repeated one is answered as RBM answers it.
///
/// A message is kept when the provider accepts it, before any delay fault holds back the answer:
/// a client that timed out meanwhile finds it there, as it would at the real provider.
public actor AcceptedMessages {
    /// Twilio Message resources, oldest first, with when each was sent.
    private var twilio: [(resource: [String: JSONValue], sentAt: Date)] = []
    private var rbmMessageIds: Set<String> = []

    public init() {}

    func acceptTwilio(_ resource: [String: JSONValue], at date: Date) {
        var listed = resource
        // The simulator hands a message to the "carrier" at once: the list shows it sent, with a
        // date_sent, which the list's DateSent filters apply to.
        listed["status"] = .string("sent")
        listed["date_sent"] = .string(TwilioMessagesFake.rfc2822(date))
        twilio.append((listed, date))
    }

    /// Twilio messages to `to` (any when nil), most recently sent first as Twilio lists them, whose
    /// GMT send day is within the bounds (`YYYY-MM-DD`, inclusive).
    func twilioMessages(to: String?, from: String?, onOrAfter: String?, onOrBefore: String?) -> [[String: JSONValue]] {
        twilio.reversed().filter { entry in
            let day = Self.gmtDay(entry.sentAt)
            if let to, entry.resource["to"] != .string(to) { return false }
            if let from, entry.resource["from"] != .string(from) { return false }
            if let onOrAfter, day < onOrAfter { return false }
            if let onOrBefore, day > onOrBefore { return false }
            return true
        }.map(\.resource)
    }

    /// True the first time an RBM `messageId` is seen; false for a repeat.
    func acceptRBM(messageId: String) -> Bool {
        rbmMessageIds.insert(messageId).inserted
    }

    /// How many Twilio messages were accepted (created) in all.
    public func twilioCount() -> Int {
        twilio.count
    }

    public func reset() {
        twilio.removeAll()
        rbmMessageIds.removeAll()
    }

    static func gmtDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }
}
