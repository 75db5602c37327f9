/// One page of Twilio's Messages list, with the Message properties the lookup of an earlier send
/// reads (https://www.twilio.com/docs/messaging/api/message-resource#message-properties) and the
/// paging field it follows (https://www.twilio.com/docs/usage/twilios-response#pagination).
struct TwilioMessagePage: Decodable {
    struct Message: Decodable {
        var sid: String?
        var to: String?
        var from: String?
        var messagingServiceSid: String?
        var body: String?
        /// A string in Twilio's JSON (`"0"`), like `num_segments`.
        var numMedia: String?
        var direction: String?
        var dateCreated: String?

        enum CodingKeys: String, CodingKey {
            case sid, to, from, body, direction
            case messagingServiceSid = "messaging_service_sid"
            case numMedia = "num_media"
            case dateCreated = "date_created"
        }

        // Each field is read leniently: one odd message (a null, a number where a string is
        // documented) must not hide the others.
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            sid = try? c.decode(String.self, forKey: .sid)
            to = try? c.decode(String.self, forKey: .to)
            from = try? c.decode(String.self, forKey: .from)
            messagingServiceSid = try? c.decode(String.self, forKey: .messagingServiceSid)
            body = try? c.decode(String.self, forKey: .body)
            numMedia = (try? c.decode(String.self, forKey: .numMedia))
                ?? (try? c.decode(Int64.self, forKey: .numMedia)).map { String($0) }
            direction = try? c.decode(String.self, forKey: .direction)
            dateCreated = try? c.decode(String.self, forKey: .dateCreated)
        }
    }

    var messages: [Message]
    var nextPageURI: String?

    enum CodingKeys: String, CodingKey {
        case messages
        case nextPageURI = "next_page_uri"
    }
}
