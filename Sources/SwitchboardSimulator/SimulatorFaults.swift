import Foundation

/// Faults the simulator injects into its fake provider APIs, queued per provider and used up in
/// order: `POST /_simulator/faults` adds one, `DELETE /_simulator/faults` clears them.
public struct SimulatedFault: Codable, Sendable, Equatable {
    /// `twilio`, `messenger`, `rbm`, or `any`.
    public var provider: String
    /// Answer with this HTTP status and the provider's error body (500, 503, 429, 400 …).
    public var status: Int?
    /// With 429 (or any status): the `Retry-After` seconds to send.
    public var retryAfter: Int?
    /// Wait this long before answering (latency); longer than the gateway's timeout is a timeout.
    /// The fake acts on the request first (Twilio and RBM keep the message they accept), so a
    /// client that timed out has sent it all the same.
    public var delayMilliseconds: Int?
    /// A provider error code for the body (Twilio 21211 or 21610, Meta 551 or 10, …).
    public var errorCode: Int?
    /// Drop the connection without an answer (TCP reset), as a provider's load balancer may: the
    /// request was received, and the client cannot know what became of it. The fake does not act
    /// on it (no message is created), as when the drop comes before the provider's API.
    public var reset: Bool?
    /// How the status callbacks that follow an accepted message are delivered: each twice, or in
    /// reverse order (delivered before sent, read before delivered).
    public var callbacks: CallbackFaults?
    /// How many requests the fault applies to.
    public var count: Int?

    public init(
        provider: String, status: Int? = nil, retryAfter: Int? = nil, delayMilliseconds: Int? = nil, errorCode: Int? = nil,
        reset: Bool? = nil, callbacks: CallbackFaults? = nil, count: Int? = 1
    ) {
        self.provider = provider
        self.status = status
        self.retryAfter = retryAfter
        self.delayMilliseconds = delayMilliseconds
        self.errorCode = errorCode
        self.reset = reset
        self.callbacks = callbacks
        self.count = count
    }
}

/// Faults of the webhooks the simulator sends back (status callbacks), per run or per request.
public struct CallbackFaults: Codable, Sendable, Equatable {
    /// Each callback is delivered twice (providers retry, and say so: de-duplicate).
    public var duplicate: Bool?
    /// The callbacks arrive in reverse order.
    public var outOfOrder: Bool?

    public init(duplicate: Bool? = nil, outOfOrder: Bool? = nil) {
        self.duplicate = duplicate
        self.outOfOrder = outOfOrder
    }

    /// This run's faults with a request's own on top.
    func merged(with other: CallbackFaults?) -> CallbackFaults {
        CallbackFaults(duplicate: other?.duplicate ?? duplicate, outOfOrder: other?.outOfOrder ?? outOfOrder)
    }
}

/// The simulator's mutable scenario: queued faults and the simulated phones' RCS support.
public actor SimulatorScenario {
    private var faults: [SimulatedFault] = []
    /// Phones the capability API knows: features, or nil for a phone without RCS (404).
    private var phones: [String: [String]?] = [:]

    public init() {}

    public func add(_ fault: SimulatedFault) {
        faults.append(fault)
    }

    public func clearFaults() {
        faults.removeAll()
    }

    /// Takes the next fault for `provider`, if one is queued.
    func nextFault(for provider: String) -> SimulatedFault? {
        guard let index = faults.firstIndex(where: { $0.provider == provider || $0.provider == "any" }) else { return nil }
        var fault = faults[index]
        let remaining = (fault.count ?? 1) - 1
        if remaining <= 0 {
            faults.remove(at: index)
        } else {
            fault.count = remaining
            faults[index].count = remaining
        }
        return fault
    }

    /// Declares a phone: its RCS features, or nil for no RCS.
    public func setPhone(_ phone: String, rcsFeatures: [String]?) {
        phones[phone] = .some(rcsFeatures)
    }

    /// The features of a declared phone (`.some(nil)`: no RCS), or nil when it was never declared.
    func rcsFeatures(of phone: String) -> [String]?? {
        phones[phone]
    }
}
