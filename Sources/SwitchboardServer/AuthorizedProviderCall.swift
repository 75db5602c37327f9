import CurlHTTPClient
import SwitchboardCore

/// A provider call made with the channel's changing credentials, when it has any: the current
/// `Authorization` is added, and a 401 makes the credentials fetch a fresh one and the call go
/// once more (the refused call was not accepted, so sending it again cannot make a copy).
enum AuthorizedProviderCall {
    enum Failure: Error {
        /// No credentials could be had (the token endpoint failed or refused).
        case authorization(MessageError)
        /// The call itself failed.
        case transport(HTTPClientError)
    }

    static func execute(
        _ request: HTTPClientRequest, authorization: (any ProviderAuthorization)?, client: any HTTPTransport
    ) async throws(Failure) -> HTTPClientResponse {
        guard let authorization else { return try await send(request, client: client) }
        let first = try await current(authorization)
        let response = try await send(request.authorized(first), client: client)
        guard response.status == 401 else { return response }
        await authorization.refused(first)
        let fresh = try await current(authorization)
        guard fresh != first else { return response }
        return try await send(request.authorized(fresh), client: client)
    }

    private static func current(_ authorization: any ProviderAuthorization) async throws(Failure) -> String {
        do {
            return try await authorization.authorization()
        } catch {
            throw .authorization(error)
        }
    }

    private static func send(_ request: HTTPClientRequest, client: any HTTPTransport) async throws(Failure) -> HTTPClientResponse {
        do {
            return try await client.execute(request)
        } catch {
            throw .transport(error)
        }
    }
}

extension HTTPClientRequest {
    /// The request with its `Authorization` header set to `value` (any earlier one removed).
    func authorized(_ value: String) -> HTTPClientRequest {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == "authorization" }
        copy.headers.append((name: "Authorization", value: value))
        return copy
    }
}
