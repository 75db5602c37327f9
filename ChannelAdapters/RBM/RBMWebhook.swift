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
    }
    var message: PubSubMessage?
    var subscription: String?
    // The setup handshake.
    var clientToken: String?
    var secret: String?
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
