import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// An error answered with the contract's JSON shape: `{"error": {"code", "message"}}`.
public struct GatewayError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let body = ErrorBody(error: .init(code: code, message: message))
        let data = try JSONEncoder().encode(body)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    /// The status and code for an adapter's refusal of a webhook.
    public init(_ error: WebhookError) {
        switch error {
        case .badSignature(let text): self.init(.forbidden, code: "bad_signature", message: text)
        case .malformed(let text): self.init(.badRequest, code: "malformed_body", message: text)
        case .unsupportedMediaType(let text): self.init(.unsupportedMediaType, code: "unsupported_media_type", message: text)
        case .invalid(let text): self.init(.unprocessableContent, code: "invalid_payload", message: text)
        }
    }
}
