import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwitchboardCore
import TwilioSMSAdapter

/// Twilio's Messages API as the simulator plays it: `POST /2010-04-01/Accounts/{sid}/Messages.json`.
///
/// Checks what Twilio checks (basic auth, `To`, a sender, a body or media, the 1600-character body
/// limit) and answers like Twilio: 201 with a Message resource, or an error body
/// `{"code", "message", "more_info", "status"}` (https://www.twilio.com/docs/api/errors).
struct TwilioMessagesFake: Sendable {
    let accountSid: String
    let authToken: String

    struct Answer: Sendable {
        var status: Int
        var body: [String: JSONValue]
        var sid: String?
    }

    func answer(pathAccountSid: String, authorization: String?, form: [(String, String)]) -> Answer {
        guard let credentials = Self.basicCredentials(authorization), credentials == (accountSid, authToken),
              pathAccountSid == accountSid
        else {
            return Self.error(status: 401, code: 20003, message: "Authenticate")
        }
        let values = Dictionary(form, uniquingKeysWith: { first, _ in first })
        guard let to = values["To"], !to.isEmpty else {
            return Self.error(status: 400, code: 21604, message: "A 'To' phone number is required.")
        }
        guard PhoneNumber.e164(to) == to else {
            return Self.error(status: 400, code: 21211, message: "The 'To' number \(to) is not a valid phone number.")
        }
        let from = values["From"]
        let service = values["MessagingServiceSid"]
        guard from?.isEmpty == false || service?.isEmpty == false else {
            return Self.error(status: 400, code: 21603, message: "A 'From' phone number is required.")
        }
        let body = values["Body"] ?? ""
        let media = form.filter { $0.0 == "MediaUrl" }.map(\.1)
        guard !body.isEmpty || !media.isEmpty else {
            return Self.error(status: 400, code: 21602, message: "Message body is required.")
        }
        guard body.count <= TwilioSMSAdapter.maxBodyCharacters else {
            return Self.error(status: 400, code: 21617, message: "The concatenated message body exceeds the 1600 character limit.")
        }
        let sid = "SM" + Self.hex(count: 32)
        let now = Self.rfc2822(Date())
        var resource: [String: JSONValue] = [
            "sid": .string(sid), "account_sid": .string(accountSid), "to": .string(to),
            "from": from.map(JSONValue.string) ?? .null,
            "messaging_service_sid": service.map(JSONValue.string) ?? .null,
            "body": .string(body), "status": .string(service == nil ? "queued" : "accepted"),
            "num_segments": .string(service == nil ? "\(max(1, (body.count + 152) / 153))" : "0"),
            "num_media": .string("\(media.count)"), "direction": .string("outbound-api"),
            "api_version": .string("2010-04-01"), "price": .null, "price_unit": .string("USD"),
            "error_code": .null, "error_message": .null,
            "date_created": .string(now), "date_updated": .string(now), "date_sent": .null,
            "uri": .string("/2010-04-01/Accounts/\(accountSid)/Messages/\(sid).json"),
        ]
        resource["subresource_uris"] = .object(["media": .string("/2010-04-01/Accounts/\(accountSid)/Messages/\(sid)/Media.json")])
        return Answer(status: 201, body: resource, sid: sid)
    }

    /// `GET /2010-04-01/Accounts/{sid}/Messages.json`: the messages `accepted` holds, narrowed by the
    /// list's filters (`To`, `From`, `DateSent` as `YYYY-MM-DD`, `<=YYYY-MM-DD` or `>=YYYY-MM-DD`, and
    /// `DateSent<`/`DateSent>` for on-or-before/on-or-after) and paged with `PageSize` (default 50,
    /// at most 1000) and `Page`, in Twilio's list envelope (`messages`, `page`, `page_size`, `start`,
    /// `end`, `uri`, `first_page_uri`, `next_page_uri`, `previous_page_uri`):
    /// https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources,
    /// https://www.twilio.com/docs/usage/twilios-response#pagination
    func list(pathAccountSid: String, authorization: String?, query: [(String, String)], accepted: AcceptedMessages) async -> Answer {
        guard let credentials = Self.basicCredentials(authorization), credentials == (accountSid, authToken),
              pathAccountSid == accountSid
        else {
            return Self.error(status: 401, code: 20003, message: "Authenticate")
        }
        let values = Dictionary(query, uniquingKeysWith: { first, _ in first })
        var onOrAfter = values["DateSent>"]
        var onOrBefore = values["DateSent<"]
        if let exact = values["DateSent"] {
            if exact.hasPrefix(">=") {
                onOrAfter = String(exact.dropFirst(2))
            } else if exact.hasPrefix("<=") {
                onOrBefore = String(exact.dropFirst(2))
            } else {
                onOrAfter = exact
                onOrBefore = exact
            }
        }
        let pageSize = min(max(Int(values["PageSize"] ?? "") ?? 50, 1), 1000)
        let page = max(Int(values["Page"] ?? "") ?? 0, 0)
        let all = await accepted.twilioMessages(to: values["To"], from: values["From"], onOrAfter: onOrAfter, onOrBefore: onOrBefore)
        let start = min(page * pageSize, all.count)
        let items = Array(all[start..<min(start + pageSize, all.count)])
        let path = "/2010-04-01/Accounts/\(accountSid)/Messages.json"
        let filters = query.filter { !["Page", "PageSize", "PageToken"].contains($0.0) }
        func uri(_ page: Int) -> String {
            path + "?" + FormURLEncoding.encode(filters + [("PageSize", "\(pageSize)"), ("Page", "\(page)")])
        }
        return Answer(status: 200, body: [
            "messages": .array(items.map(JSONValue.object)),
            "page": .number(Double(page)), "page_size": .number(Double(pageSize)),
            "start": .number(Double(start)), "end": .number(Double(max(start, start + items.count - 1))),
            "uri": .string(uri(page)), "first_page_uri": .string(uri(0)),
            "next_page_uri": start + items.count < all.count ? .string(uri(page + 1)) : .null,
            "previous_page_uri": page > 0 ? .string(uri(page - 1)) : .null,
        ], sid: nil)
    }

    static func error(status: Int, code: Int, message: String) -> Answer {
        Answer(status: status, body: [
            "code": .number(Double(code)), "message": .string(message),
            "more_info": .string("https://www.twilio.com/docs/errors/\(code)"), "status": .number(Double(status)),
        ], sid: nil)
    }

    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.hasPrefix("Basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6))),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func hex(count: Int) -> String {
        var text = ""
        text.reserveCapacity(count + 16)
        while text.count < count {
            let chunk = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            text += String(repeating: "0", count: 16 - chunk.count) + chunk
        }
        return String(text.prefix(count))
    }

    /// `Fri, 13 Aug 2010 01:16:24 +0000`, as Twilio writes dates (formatted by hand: a
    /// DateFormatter per answer would cost more than the rest of the answer).
    static func rfc2822(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    /// The message Twilio gives with an error code (https://www.twilio.com/docs/api/errors/{code}).
    static func message(forCode code: Int) -> String {
        switch code {
        case 20429: "Too Many Requests"
        case 21211: "The 'To' number is not a valid phone number."
        case 21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."
        case 21610: "Attempt to send to unsubscribed recipient"
        case 21614: "'To' number is not a valid mobile number"
        case 30007: "Message filtered"
        default: "Internal Server Error"
        }
    }
}
