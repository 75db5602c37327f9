import Foundation

/// A conversation to play against a running gateway (`switchboard simulate run FILE`): who sends
/// what on which channel, and what the gateway must send back. docs/simulator.md describes the format.
public struct Scenario: Decodable, Sendable {
    public var name: String
    public var description: String?
    /// The simulated people, by the key steps use.
    public var contacts: [String: ContactSpec]
    public var steps: [Step]

    /// A simulated person. Addresses left out are made up for each run (so a scenario can run again
    /// against the same gateway and meet a new contact).
    public struct ContactSpec: Decodable, Sendable {
        /// E.164 phone for SMS and RCS.
        public var phone: String?
        /// Messenger page-scoped id.
        public var psid: String?
        /// RCS features the phone supports (the simulator's capability API answers with them);
        /// `null` declares a phone without RCS; absent leaves the phone undeclared.
        public var rcsFeatures: [String]??

        enum CodingKeys: String, CodingKey { case phone, psid, rcsFeatures }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            phone = try c.decodeIfPresent(String.self, forKey: .phone)
            psid = try c.decodeIfPresent(String.self, forKey: .psid)
            if c.contains(.rcsFeatures) {
                rcsFeatures = .some(try c.decodeNil(forKey: .rcsFeatures) ? nil : try c.decode([String].self, forKey: .rcsFeatures))
            }
        }
    }

    /// One step: a contact sends, or the gateway must have sent.
    public enum Step: Decodable, Sendable {
        case send(Send)
        case expect(Expect)

        enum CodingKeys: String, CodingKey { case send, expect }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let send = try c.decodeIfPresent(Send.self, forKey: .send) {
                self = .send(send)
            } else if let expect = try c.decodeIfPresent(Expect.self, forKey: .expect) {
                self = .expect(expect)
            } else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a step is {\"send\": …} or {\"expect\": …}"))
            }
        }
    }

    /// A contact's message, delivered as the channel's provider would (signed webhook) or over the
    /// web-chat socket.
    public struct Send: Decodable, Sendable {
        public var channel: String
        public var from: String
        public var text: String
        /// A tapped quick reply / suggestion / button (rcs, messenger, webchat).
        public var payload: String?
    }

    /// A message the gateway must send to a contact: its text and quick replies, checked in the
    /// form the channel carries them (SMS numbers the choices), and optionally a piece of the
    /// provider request itself.
    public struct Expect: Decodable, Sendable {
        public var channel: String
        public var to: String
        public var text: String?
        public var textContains: String?
        public var quickReplies: [QuickReply]?
        /// The titles of the cards the contact sees, in order: an RBM rich card or carousel, a
        /// Messenger generic template, web chat's cards; on SMS (no cards) each must be in the text.
        public var cards: [String]?
        /// A JSON object the provider request must contain (Twilio's form as an object of strings;
        /// Messenger's and RBM's JSON bodies; web chat's normalized message).
        public var rendered: JSONValue?
        /// Seconds to wait for it (default 10).
        public var within: Double?
    }

    /// `"Yes"`, or `{"title": "Yes", "payload": "ORDER"}` to check the payload too.
    public struct QuickReply: Decodable, Sendable, Equatable {
        public var title: String
        public var payload: String?

        public init(title: String, payload: String?) {
            self.title = title
            self.payload = payload
        }

        public init(from decoder: any Decoder) throws {
            if let title = try? decoder.singleValueContainer().decode(String.self) {
                self.init(title: title, payload: nil)
                return
            }
            struct Object: Decodable { var title: String; var payload: String? }
            let object = try Object(from: decoder)
            self.init(title: object.title, payload: object.payload)
        }
    }

    /// Reads and checks a scenario file.
    public static func load(path: String) throws -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScenarioError(message: "cannot read \(path): \(error.localizedDescription)")
        }
        let scenario: Scenario
        do {
            scenario = try JSONDecoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError(message: "\(path) is not a scenario: \(Self.describe(error))")
        }
        var problems: [String] = []
        let channels = ["sms", "rcs", "messenger", "webchat"]
        for (index, step) in scenario.steps.enumerated() {
            let (channel, who) = switch step {
            case .send(let send): (send.channel, send.from)
            case .expect(let expect): (expect.channel, expect.to)
            }
            if !channels.contains(channel) { problems.append("step \(index + 1): unknown channel '\(channel)'") }
            if scenario.contacts[who] == nil { problems.append("step \(index + 1): no contact '\(who)' in contacts") }
            if case .expect(let expect) = step, expect.text == nil, expect.textContains == nil, expect.quickReplies == nil, expect.rendered == nil,
               expect.cards == nil {
                problems.append("step \(index + 1): an expectation needs text, textContains, quickReplies, cards or rendered")
            }
        }
        if !problems.isEmpty { throw ScenarioError(message: "\(path): " + problems.joined(separator: "; ")) }
        return scenario
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "the top" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

/// A scenario that cannot be read or run.
public struct ScenarioError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
