import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `GET /api/v1/webhook-deliveries` and `POST /api/v1/webhook-deliveries/{id}/retry`: what became
/// of event webhooks, and replaying one.
extension APIRoutes {
    func addWebhookDeliveries(to api: RouterGroup<GatewayRequestContext>) {
        api.get("webhook-deliveries") { request, _ in
            let parameters = request.uri.queryParameters
            var state: WebhookDeliveryState?
            if let text = parameters["status"] {
                guard let parsed = WebhookDeliveryState(rawValue: String(text)) else {
                    throw GatewayError(
                        .badRequest, code: "invalid_status",
                        message: "status must be one of \(WebhookDeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            var before: Int64?
            if let cursor = parameters["cursor"] {
                guard let value = Int64(String(cursor)), value > 0 else {
                    throw GatewayError(.badRequest, code: "invalid_cursor", message: "cursor '\(cursor)' was not issued by this API")
                }
                before = value
            }
            return try jsonResponse(try await store.webhookDeliveries(state: state, limit: try Self.limit(request), before: before))
        }
        api.post("webhook-deliveries/:id/retry") { _, context in
            let text = try context.parameters.require("id")
            guard let id = WebhookDelivery.rowId(publicId: text) else {
                throw GatewayError(.notFound, code: "delivery_not_found", message: "no webhook delivery with id \(text)")
            }
            switch try await store.retryWebhookDelivery(id: id, at: now()) {
            case .queued(let delivery):
                return try jsonResponse(delivery, status: .accepted)
            case .notFound:
                throw GatewayError(.notFound, code: "delivery_not_found", message: "no webhook delivery with id \(text)")
            case .alreadyPending:
                throw GatewayError(
                    .conflict, code: "delivery_pending",
                    message: "delivery \(text) is still pending, or a pending contact.updated of the same contact will carry the contact as it is now")
            }
        }
    }
}
