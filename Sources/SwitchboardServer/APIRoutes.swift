import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `/api/v1/*`: the conversations API, behind the bearer token.
struct APIRoutes: Sendable {
    let store: any MessageStore

    func add(to router: Router<GatewayRequestContext>, apiToken: String?) {
        let api = router.group("api/v1").add(middleware: BearerTokenMiddleware(token: apiToken))
        api.get("contacts") { request, _ in
            let limit = try Self.limit(request)
            do {
                return try jsonResponse(try await store.contacts(limit: limit, cursor: request.uri.queryParameters["cursor"].map(String.init)))
            } catch StoreError.invalidCursor(let cursor) {
                throw GatewayError(.badRequest, code: "invalid_cursor", message: "cursor '\(cursor)' was not issued by this API")
            }
        }
        api.get("contacts/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let contact = try await store.contact(id: id) else {
                throw GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(id)")
            }
            return try jsonResponse(contact)
        }
        api.get("contacts/:id/messages") { request, context in
            let id = try context.parameters.require("id")
            guard try await store.contact(id: id) != nil else {
                throw GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(id)")
            }
            let page = try await store.messages(
                contactId: id, limit: try Self.limit(request), before: request.uri.queryParameters["before"].map(String.init))
            return try jsonResponse(page)
        }
        api.get("messages/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let message = try await store.message(id: id) else {
                throw GatewayError(.notFound, code: "message_not_found", message: "no message with id \(id)")
            }
            return try jsonResponse(message)
        }
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return 50 }
        guard let value = Int(String(text)), (1...200).contains(value) else {
            throw GatewayError(.badRequest, code: "invalid_limit", message: "limit must be a whole number from 1 to 200")
        }
        return value
    }
}

/// Refuses requests without `Authorization: Bearer <SWITCHBOARD_API_TOKEN>`, comparing in constant time.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !token.isEmpty else {
            throw GatewayError(
                .unauthorized, code: "api_token_not_configured",
                message: "set SWITCHBOARD_API_TOKEN (or run serve --dev) to use the API")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw GatewayError(.unauthorized, code: "unauthorized", message: "send Authorization: Bearer <API token>")
        }
        let presented = Array(header.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        var difference = presented.count == expected.count ? 0 : 1
        for (index, byte) in expected.enumerated() {
            difference |= Int(byte ^ (index < presented.count ? presented[index] : 0))
        }
        guard difference == 0 else {
            throw GatewayError(.unauthorized, code: "unauthorized", message: "the API token is not valid")
        }
        return try await next(request, context)
    }
}
