/// Credentials for provider calls that change while the gateway runs (OAuth access tokens that
/// expire). The caller asks before each call and reports a refusal; an adapter with fixed
/// credentials writes them into its requests itself and has none.
public protocol ProviderAuthorization: Sendable {
    /// The `Authorization` header value for the next call, or why there is none.
    func authorization() async throws(MessageError) -> String
    /// A call made with `authorization` was refused as unauthenticated (401): it is not handed out
    /// again, so the next `authorization()` fetches a fresh one.
    func refused(_ authorization: String) async
}
