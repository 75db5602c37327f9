import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// A JSON response in the gateway's wire format (ISO 8601 dates with milliseconds).
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try GatewayJSON.encoder().encode(value)
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
