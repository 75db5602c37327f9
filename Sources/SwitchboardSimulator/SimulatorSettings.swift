/// What the simulator plays: the provider accounts it accepts and the gateway it calls.
public struct SimulatorSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The Twilio account the fake Messages API accepts (basic auth `AccountSid:AuthToken`).
    public var twilioAccountSid: String
    public var twilioAuthToken: String

    public init(host: String = "127.0.0.1", port: Int = 8090, twilioAccountSid: String, twilioAuthToken: String) {
        self.host = host
        self.port = port
        self.twilioAccountSid = twilioAccountSid
        self.twilioAuthToken = twilioAuthToken
    }
}
