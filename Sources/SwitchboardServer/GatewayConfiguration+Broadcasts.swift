import SwitchboardCore

extension GatewayConfiguration {
    /// How broadcasts fan out (docs/outbound.md, "Broadcasts").
    public struct BroadcastSettings: Codable, Sendable, Equatable {
        /// Recipients decided per transaction.
        public var batchSize: Int = 500
        /// At most this many of one broadcast's messages wait in the outbox per channel; a paced
        /// channel waits with `queueAheadSeconds` of its pace (and its burst), so conversations
        /// queued meanwhile are not held up behind a campaign.
        public var maxQueuedPerChannel: Int = 200
        public var queueAheadSeconds: Double = 2

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = BroadcastSettings()
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
            maxQueuedPerChannel = try c.decodeIfPresent(Int.self, forKey: .maxQueuedPerChannel) ?? d.maxQueuedPerChannel
            queueAheadSeconds = try c.decodeIfPresent(Double.self, forKey: .queueAheadSeconds) ?? d.queueAheadSeconds
        }

        var problems: [String] {
            var problems: [String] = []
            if !(1...10_000).contains(batchSize) { problems.append("broadcasts.batchSize: must be 1 to 10000") }
            if !(1...100_000).contains(maxQueuedPerChannel) { problems.append("broadcasts.maxQueuedPerChannel: must be 1 to 100000") }
            if !(queueAheadSeconds.isFinite && queueAheadSeconds > 0 && queueAheadSeconds <= 3_600) {
                problems.append("broadcasts.queueAheadSeconds: must be above 0 and at most 3600")
            }
            return problems
        }

        /// How many of one broadcast's messages may wait in the outbox on `channel`.
        public func window(for channel: Channel, pacing: [String: Pace]) -> Int {
            guard let pace = pacing[channel.rawValue], pace.perSecond > 0, pace.perSecond.isFinite else { return maxQueuedPerChannel }
            // In Double, then clamped: a large pace must not overflow an Int.
            let ahead = (pace.perSecond * queueAheadSeconds).rounded(.up) + Double(max(0, pace.burst))
            return Int(min(Double(maxQueuedPerChannel), max(1, ahead)))
        }
    }
}
