import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into the contract's JSON error shape: the gateway's own errors as they are,
/// Hummingbird's (unknown route, body too large) mapped to a code, anything else as a 500 whose
/// details stay in the log.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, to tell "no such path" (404) from "not with this method" (405).
    var routes: RouteTable? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = routes?.methods(for: request.uri.path), !allowed.isEmpty {
                var refusal = GatewayError(
                    .methodNotAllowed, code: "method_not_allowed",
                    message: "\(request.method) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))")
                refusal.headers[.allow] = allowed.joined(separator: ", ")
                throw refusal
            }
            throw Self.translate(status: error.status, message: error.body, request: request)
        } catch let error as any HTTPResponseError {
            // Hummingbird's and NIO's own errors (NIOTooManyBytesError is a 413).
            throw Self.translate(status: error.status, message: nil, request: request)
        } catch is CancellationError {
            throw GatewayError(.serviceUnavailable, code: "shutting_down", message: "the gateway is shutting down")
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: type(of: error)))", "path": "\(request.uri.path)"])
            throw GatewayError(.internalServerError, code: "internal_error", message: "the gateway could not handle the request")
        }
    }

    static func translate(status: HTTPResponse.Status, message: String?, request: Request) -> GatewayError {
        switch status {
        case .notFound:
            return GatewayError(.notFound, code: "not_found", message: message ?? "no route for \(request.method) \(request.uri.path)")
        case .contentTooLarge:
            return GatewayError(.contentTooLarge, code: "payload_too_large", message: message ?? "the request body is too large")
        case .methodNotAllowed:
            return GatewayError(.methodNotAllowed, code: "method_not_allowed", message: message ?? "\(request.method) is not allowed here")
        case .badRequest:
            return GatewayError(.badRequest, code: "bad_request", message: message ?? "the request is malformed")
        case .unauthorized:
            return GatewayError(.unauthorized, code: "unauthorized", message: message ?? "a valid API token is required")
        default:
            let code = status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return GatewayError(status, code: code, message: message ?? status.reasonPhrase)
        }
    }
}
