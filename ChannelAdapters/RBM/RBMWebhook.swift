/// What RBM posts to an agent webhook: a Pub/Sub push envelope whose `message.data` is the
/// base64 of a UserMessage or a UserEvent; or, once, the setup handshake.
///
/// https://developers.google.com/business-communications/rcs-business-messaging/guides/integrate/webhooks
/// https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/UserMessage
/// https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/UserEvent
struct RBMEnvelope: Decodable {
    struct PubSubMessage: Decodable {
        var data: String?
        var messageId: String?
        var publishTime: String?

        enum CodingKeys: String, CodingKey { case data, messageId, publishTime }

        // Only `data` matters; other fields of an unexpected type do not make the push unreadable.
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            data = try? c.decode(String.self, forKey: .data)
            messageId = try? c.decode(String.self, forKey: .messageId)
            publishTime = try? c.decode(String.self, forKey: .publishTime)
        }
    }
    var message: PubSubMessage?
    var subscription: String?
    // The setup handshake.
    var clientToken: String?
    var secret: String?

    enum CodingKeys: String, CodingKey { case message, subscription, clientToken, secret }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        message = try? c.decode(PubSubMessage.self, forKey: .message)
        subscription = try? c.decode(String.self, forKey: .subscription)
        clientToken = try? c.decode(String.self, forKey: .clientToken)
        secret = try? c.decode(String.self, forKey: .secret)
    }
}

/// A UserMessage or a UserEvent (the decoded `message.data`).
struct RBMUserPayload: Decodable {
    var senderPhoneNumber: String?
    var messageId: String?
    var sendTime: String?
    var agentId: String?
    var text: String?
    var userFile: UserFile?
    var location: LatLng?
    var suggestionResponse: SuggestionResponse?
    var eventType: String?
    var eventId: String?

    struct UserFile: Decodable {
        var payload: FileInfo?
        var thumbnail: FileInfo?
    }

    struct FileInfo: Decodable {
        var mimeType: String?
        var fileSizeBytes: Int?
        var fileUri: String?
        var fileName: String?
    }

    struct LatLng: Decodable {
        var latitude: Double
        var longitude: Double
    }

    struct SuggestionResponse: Decodable {
        var postbackData: String?
        var text: String?
        var type: String?
    }
}
