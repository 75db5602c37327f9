import Foundation

/// One provider call the simulator received, as the inspection API lists it.
public struct RecordedRequest: Codable, Sendable, Equatable {
    /// `twilio`, `messenger`, `rbm`, or `google-oauth` (the token endpoint RBM service accounts use).
    public var provider: String
    public var method: String
    public var path: String
    /// Form parameters (Twilio) in their order, as name-value pairs.
    public var form: [[String]]?
    /// The JSON body (Messenger, RBM), as text.
    public var json: String?
    /// The status the simulator answered with; 0 when it reset the connection instead.
    public var responseStatus: Int = 0
    /// The provider message id the simulator assigned, when it accepted the message.
    public var providerMessageId: String?
    public var receivedAt = Date()

    /// The first value of a form parameter.
    public func formValue(_ name: String) -> String? {
        form?.first { $0.first == name }?.last
    }

    /// Every value of a repeated form parameter.
    public func formValues(_ name: String) -> [String] {
        form?.filter { $0.first == name }.compactMap { $0.count > 1 ? $0[1] : nil } ?? []
    }
}

/// Keeps what the simulator received, in order.
public actor RequestRecorder {
    private var requests: [RecordedRequest] = []

    public init() {}

    func record(_ request: RecordedRequest) {
        requests.append(request)
    }

    /// Everything received since the start or the last reset.
    public func all() -> [RecordedRequest] {
        requests
    }

    /// How many requests were received (cheaper than `all()` for a count).
    public func count() -> Int {
        requests.count
    }

    /// The requests from `index` on (for polling without copying everything each time).
    public func since(_ index: Int) -> ArraySlice<RecordedRequest> {
        requests[min(index, requests.count)...]
    }

    public func reset() {
        requests.removeAll()
    }
}

/// The TCP connections clients opened to the simulator (by remote address), so a benchmark can
/// tell whether the gateway reuses its connections.
public actor ConnectionLog {
    private var addresses: Set<String> = []

    public init() {}

    func note(_ address: String) {
        addresses.insert(address)
    }

    /// Distinct connections seen since the start or the last reset.
    public func count() -> Int {
        addresses.count
    }

    public func reset() {
        addresses.removeAll()
    }
}
