/// The JSON Meta posts to a Messenger webhook, as far as the gateway reads it.
///
/// Shapes from https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages,
/// .../messaging_postbacks, .../message-deliveries, .../message-reads and .../message-reactions,
/// and fbsamples/messenger-platform-samples `node/app.js`.
struct MessengerWebhook: Decodable {
    var object: String
    var entry: [Entry]

    struct Entry: Decodable {
        var id: String?
        var time: Double?
        var messaging: [Event]?
    }

    struct Party: Decodable {
        var id: String
    }

    struct Event: Decodable {
        var sender: Party?
        var recipient: Party?
        var timestamp: Double?
        var message: MessageBody?
        var postback: Postback?
        var delivery: Delivery?
        var read: Read?
        var reaction: Reaction?
    }

    struct MessageBody: Decodable {
        var mid: String?
        var text: String?
        var isEcho: Bool?
        var quickReply: QuickReply?
        var attachments: [Attachment]?

        enum CodingKeys: String, CodingKey {
            case mid, text, attachments
            case isEcho = "is_echo"
            case quickReply = "quick_reply"
        }
    }

    struct QuickReply: Decodable {
        var payload: String
    }

    struct Attachment: Decodable {
        var type: String
        var title: String?
        var payload: Payload?

        struct Payload: Decodable {
            var url: String?
            var title: String?
            var coordinates: Coordinates?
            /// On a sticker: Meta's sticker id (a number).
            var stickerId: Double?

            enum CodingKeys: String, CodingKey {
                case url, title, coordinates
                case stickerId = "sticker_id"
            }
        }

        struct Coordinates: Decodable {
            var lat: Double
            var long: Double
        }
    }

    struct Postback: Decodable {
        var mid: String?
        var title: String?
        var payload: String?
    }

    struct Delivery: Decodable {
        var mids: [String]?
        var watermark: Double
    }

    struct Read: Decodable {
        var watermark: Double
    }

    /// A `message_reactions` event: `reaction` is Meta's name (smile, angry, sad, wow, love, like,
    /// dislike, other), `action` react or unreact, `mid` the message reacted to
    /// (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reactions).
    struct Reaction: Decodable {
        var mid: String?
        var action: String?
        var emoji: String?
        var reaction: String?
    }
}
