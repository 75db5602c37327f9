import Foundation
import MessengerAdapter
import RBMAdapter
import SwitchboardCore
import TwilioSMSAdapter

/// What happens to a decoded event after the adapter: its dates go to storage as milliseconds and
/// to the API as ISO 8601, its content to JSON, and the echo bot sends the content back through
/// every channel's renderer. Decoded values are still outside input.
enum EventInspection {
    static func inspect(_ events: [InboundEvent]) {
        for event in events {
            switch event {
            case .message(let message):
                _ = PhoneNumber.e164(message.senderAddress)
                if let sentAt = message.sentAt {
                    _ = Timestamp.millis(sentAt)
                    _ = Timestamp.string(from: sentAt)
                }
                _ = try? GatewayJSON.encoder().encode(message.content)
                render(message.content, to: message.senderAddress)
            case .watermark(let watermark):
                _ = Timestamp.millis(watermark.upTo)
                _ = Timestamp.string(from: watermark.upTo)
            case .reaction(let update):
                if let reaction = update.reaction(now: Date()) {
                    _ = Timestamp.millis(reaction.at)
                    _ = try? GatewayJSON.encoder().encode(reaction)
                }
            case .statusUpdate, .typing, .ignored:
                break
            }
        }
    }

    static func render(_ content: Content, to recipient: String) {
        let envelope = OutboundEnvelope(
            messageId: "msg_fuzz", recipientAddress: recipient, content: content,
            rcsFeatures: ["RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_OPEN_URL", "ACTION_DIAL"])
        _ = try? ProviderWebhookFeed.twilioAdapter.render(envelope)
        _ = try? ProviderWebhookFeed.messengerAdapter.render(envelope)
        _ = try? ProviderWebhookFeed.rbmAdapter.render(envelope)
    }
}
