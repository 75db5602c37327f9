import Foundation
import SwitchboardCore

/// Finding the message an earlier send created, through the Messages list resource.
///
/// Twilio's Messages API takes no idempotency key, so after a send whose outcome is unknown the
/// outbox asks Twilio before sending again:
/// `GET /2010-04-01/Accounts/{AccountSid}/Messages.json?To=…&DateSent>=YYYY-MM-DD` (the list
/// filters `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` and `PageSize` of
/// https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources; the
/// answer is `{"messages": [...], "next_page_uri": …}` with Twilio's paging fields,
/// https://www.twilio.com/docs/usage/twilios-response#pagination).
///
/// The matching rule. A Message resource does not return the `StatusCallback` it was created with
/// (its properties are listed at https://www.twilio.com/docs/messaging/api/message-resource#message-properties
/// and in twilio/twilio-go `rest/api/v2010/docs/ApiV2010Message.md`: no status callback in any of
/// them), so the callback URL cannot tell our messages from others. A message is ours when all of:
/// - `direction` is `outbound-api` (created through the REST API, as ours are);
/// - `to` is our recipient and the sender is ours: `messaging_service_sid` when we send through a
///   Messaging Service (Twilio then picks `from`), else `from`;
/// - `body` equals the `Body` we sent (empty for media alone) and `num_media` our `MediaUrl` count;
/// - `date_created` is not before the first attempt whose outcome is unknown, less
///   `clockSkewAllowance` (Twilio writes whole seconds, and its clock is not ours);
/// - its SID is not already another message's (the outbox checks that against the store).
/// Of several matches the oldest wins: it is the first attempt's.
extension TwilioSMSAdapter: SentMessageLookup {
    /// How far Twilio's clock may be behind ours and still match (whole seconds are truncated too).
    public static let clockSkewAllowance: TimeInterval = 5
    /// Messages per page; Twilio's default is 50 and its maximum 1000.
    public static let lookupPageSize = 100

    public func renderLookup(_ envelope: OutboundEnvelope, since: Date) -> ProviderRequest {
        // DateSent filters on the day (GMT) a message was sent, which is never before the day it
        // was created; the allowance keeps a first attempt just after midnight in range.
        let day = Self.gmtDay(since.addingTimeInterval(-Self.clockSkewAllowance))
        let query = FormURLEncoding.encode([
            ("To", envelope.recipientAddress), ("DateSent>", day), ("PageSize", String(Self.lookupPageSize)),
        ])
        return lookupRequest(url: settings.messagesURL + "?" + query)
    }

    public func interpretLookup(
        _ response: ProviderResponse, for envelope: OutboundEnvelope, since: Date
    ) throws(MessageError) -> SentMessageLookupPage {
        guard (200...299).contains(response.status) else {
            let body = try? JSONDecoder().decode(TwilioResponseBody.self, from: Data(response.body))
            throw Self.error(from: body, status: response.status)
        }
        let page: TwilioMessagePage
        do {
            page = try JSONDecoder().decode(TwilioMessagePage.self, from: Data(response.body))
        } catch {
            throw MessageError(code: "twilio_bad_response", message: "Twilio's message list could not be read")
        }
        let form = try sendForm(envelope)
        let sent = Dictionary(form, uniquingKeysWith: { first, _ in first })
        let mediaCount = form.filter { $0.0 == "MediaUrl" }.count
        // Twilio writes whole seconds: compare with the attempt's second, less the allowance.
        let earliest = since.timeIntervalSince1970.rounded(.down) - Self.clockSkewAllowance
        let matches = page.messages.filter { message in
            guard message.direction == "outbound-api", message.to == envelope.recipientAddress,
                  (message.body ?? "") == (sent["Body"] ?? ""),
                  Int(message.numMedia ?? "0") ?? 0 == mediaCount,
                  let created = message.dateCreated.flatMap(Self.rfc2822Date), created.timeIntervalSince1970 >= earliest
            else { return false }
            if let service = sent["MessagingServiceSid"] {
                return message.messagingServiceSid == service
            }
            return message.from == sent["From"]
        }
        .sorted { ($0.dateCreated.flatMap(Self.rfc2822Date) ?? .distantPast) < ($1.dateCreated.flatMap(Self.rfc2822Date) ?? .distantPast) }
        .compactMap(\.sid)
        // next_page_uri is relative to the API's host; only a path on our account's Messages list is
        // followed, so the answer cannot send our credentials anywhere else.
        let nextPage = page.nextPageURI.flatMap { path -> ProviderRequest? in
            let listPath = "/2010-04-01/Accounts/" + settings.accountSid + "/Messages.json?"
            guard path.hasPrefix(listPath) else { return nil }
            return lookupRequest(url: settings.apiRoot + path)
        }
        return SentMessageLookupPage(matches: matches, nextPage: nextPage)
    }

    func lookupRequest(url: String) -> ProviderRequest {
        ProviderRequest(
            method: "GET", url: url,
            headers: [ProviderHeader("Authorization", basicAuthorization), ProviderHeader("Accept", "application/json")],
            body: [])
    }

    /// `YYYY-MM-DD` in GMT, as the `DateSent` filters take it.
    static func gmtDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        func two(_ value: Int?) -> String { (value ?? 0) < 10 ? "0\(value ?? 0)" : "\(value ?? 0)" }
        return "\(parts.year ?? 1970)-\(two(parts.month))-\(two(parts.day))"
    }

    /// Twilio's dates, `Fri, 13 Aug 2010 01:16:24 +0000` (RFC 2822); nil for anything else.
    static func rfc2822Date(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        guard fields.count == 6, let day = Int(fields[1]), let year = Int(fields[3]),
              let month = months.firstIndex(of: String(fields[2])).map({ $0 + 1 })
        else { return nil }
        let time = fields[4].split(separator: ":").compactMap { Int($0) }
        let zone = fields[5]
        guard time.count == 3, zone.count == 5, let sign = zone.first, sign == "+" || sign == "-",
              let hhmm = Int(zone.dropFirst())
        else { return nil }
        let offset = (hhmm / 100 * 3600 + hhmm % 100 * 60) * (sign == "-" ? -1 : 1)
        var calendar = Calendar(identifier: .gregorian)
        guard let zoneValue = TimeZone(secondsFromGMT: offset) else { return nil }
        calendar.timeZone = zoneValue
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: time[0], minute: time[1], second: time[2]))
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
