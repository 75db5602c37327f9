import CurlHTTPClient
import Foundation
import SwitchboardCore
import TwilioSMSAdapter

/// Plays a `Scenario` against a running gateway: each `send` step is a correctly signed provider
/// webhook (or a web-chat frame), each `expect` step waits for the gateway's next message to that
/// contact — at the simulator's fake provider APIs (read through `GET /_simulator/requests`), or on
/// the visitor's web-chat socket — and compares it in the form the channel carries it.
public struct ScenarioRunner: Sendable {
    public var gatewayURL: String
    public var simulatorURL: String
    let sender: InboundWebhookSender
    let visitor: SimulatedVisitor
    let client: CurlHTTPClient
    /// Where the report's lines go.
    let output: @Sendable (String) -> Void

    public init(
        gatewayURL: String, publicURL: String?, simulatorURL: String, accounts: ProviderAccounts, client: CurlHTTPClient,
        output: @escaping @Sendable (String) -> Void
    ) {
        self.gatewayURL = gatewayURL
        self.simulatorURL = InboundWebhookSender.trimmed(simulatorURL)
        self.sender = InboundWebhookSender(gatewayURL: gatewayURL, publicURL: publicURL ?? gatewayURL, accounts: accounts, client: client)
        self.visitor = SimulatedVisitor(gatewayURL: gatewayURL, client: client)
        self.client = client
        self.output = output
    }

    /// What became of a run.
    public struct Outcome: Sendable, Equatable {
        public var passed: Int
        public var failed: Int
        public var notRun: Int
        public var succeeded: Bool { failed == 0 && notRun == 0 }
    }

    /// One contact's addresses for this run, and its web-chat session.
    struct Person {
        var phone: String
        var psid: String
        var visitorToken: String?
        var visitorId: String?
        /// The last web-chat message already matched (replies come after it).
        var lastSeen: String?
    }

    /// A message the gateway sent, as the expectation compares it.
    struct Observed {
        var text: String?
        var quickReplies: [Scenario.QuickReply]
        /// The titles of the cards it shows (none on SMS).
        var cards: [String] = []
        /// The provider request (Twilio's form as an object) or the normalized web-chat message.
        var raw: JSONValue
    }

    struct StepFailure: Error {
        var lines: [String]
    }

    /// Runs every step in order and stops at the first that fails (later steps depend on it).
    public func run(_ scenario: Scenario) async throws -> Outcome {
        output("scenario \(scenario.name)\(scenario.description.map { ": \($0)" } ?? "") — \(scenario.contacts.count) contacts, \(scenario.steps.count) steps")
        var people: [String: Person] = [:]
        for (key, spec) in scenario.contacts.sorted(by: { $0.key < $1.key }) {
            let person = Person(
                phone: spec.phone ?? "+155501" + String(format: "%05d", Int.random(in: 0..<100_000)),
                psid: spec.psid ?? "7" + (0..<15).map { _ in String(Int.random(in: 0...9)) }.joined())
            if let features = spec.rcsFeatures {
                try await declarePhone(person.phone, rcsFeatures: features)
            }
            people[key] = person
        }
        // Only what the gateway sends from now on counts.
        var consumed = Set(try await providerRequests().indices)
        var outcome = Outcome(passed: 0, failed: 0, notRun: 0)
        for (index, step) in scenario.steps.enumerated() {
            let number = String(index + 1).padding(toLength: 3, withPad: " ", startingAt: 0)
            do {
                switch step {
                case .send(let send):
                    try await deliver(send, person: &people[send.from]!)
                    output("  ✓ \(number) \(send.channel) \(send.from) → \(Self.quote(send.text))\(send.payload.map { " [\($0)]" } ?? "")")
                case .expect(let expect):
                    let observed = try await awaitMessage(expect, person: &people[expect.to]!, consumed: &consumed)
                    let differences = Self.compare(expect, observed)
                    if !differences.isEmpty { throw StepFailure(lines: differences) }
                    output("  ✓ \(number) \(expect.channel) \(expect.to) ← \(Self.quote(observed.text ?? observed.raw.compact))")
                }
                outcome.passed += 1
            } catch let failure as StepFailure {
                report(failure.lines, step: step, number: number)
                outcome.failed = 1
            } catch {
                report(["\(error)"], step: step, number: number)
                outcome.failed = 1
            }
            if outcome.failed > 0 {
                outcome.notRun = scenario.steps.count - index - 1
                break
            }
        }
        output(outcome.succeeded
            ? "scenario \(scenario.name): all \(outcome.passed) steps as expected"
            : "scenario \(scenario.name): step \(outcome.passed + 1) of \(scenario.steps.count) failed (\(outcome.notRun) not run)")
        return outcome
    }

    func report(_ lines: [String], step: Scenario.Step, number: String) {
        let what = switch step {
        case .send(let send): "\(send.channel) \(send.from) → \(Self.quote(send.text)): not delivered"
        case .expect(let expect): "\(expect.channel) \(expect.to) ← the gateway's message differs (- expected, + actual)"
        }
        output("  ✗ \(number) \(what)")
        for line in lines { output("        \(line)") }
    }

    // MARK: Sending

    func deliver(_ send: Scenario.Send, person: inout Person) async throws {
        let delivery: InboundWebhookSender.Delivery
        switch send.channel {
        case "sms":
            delivery = try await sender.sendSMS(from: person.phone, text: send.text)
        case "rcs":
            delivery = try await sender.sendRCS(phone: person.phone, text: send.text, postbackData: send.payload)
        case "messenger":
            delivery = try await sender.sendMessenger(psid: person.psid, text: send.text, quickReplyPayload: send.payload)
        default:
            try await sendWebChat(send, person: &person)
            return
        }
        guard (200...299).contains(delivery.status) else {
            throw StepFailure(lines: ["the gateway answered \(delivery.status): \(delivery.body)"])
        }
    }

    func sendWebChat(_ send: Scenario.Send, person: inout Person) async throws {
        if person.visitorToken == nil {
            let session = try await visitor.session()
            person.visitorToken = session.token
            person.visitorId = session.visitorId
        }
        let id = "scenario-\(UUID().uuidString)"
        var frame: [String: String] = ["type": "message", "text": send.text, "id": id]
        if let payload = send.payload { frame["payload"] = payload }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: frame, options: [.sortedKeys]), as: UTF8.self)
        let frames = try await visitor.exchange(token: person.visitorToken!, frames: [text], timeout: 10) { frames in
            frames.contains { JSONValue.parse($0)?["clientId"]?.string == id }
        }
        if let refusal = frames.compactMap(JSONValue.parse).first(where: { $0["type"]?.string == "error" }) {
            throw StepFailure(lines: ["the gateway refused the frame: \(refusal.compact)"])
        }
    }

    // MARK: Expecting

    func awaitMessage(_ expect: Scenario.Expect, person: inout Person, consumed: inout Set<Int>) async throws -> Observed {
        let timeout = expect.within ?? 10
        if expect.channel == "webchat" {
            return try await awaitWebChat(person: &person, timeout: timeout)
        }
        let deadline = Date().addingTimeInterval(timeout)
        let phone = person.phone, psid = person.psid
        while true {
            let requests = try await providerRequests()
            if let (index, request) = requests.enumerated().first(where: { index, request in
                !consumed.contains(index) && Self.isMessage(request, channel: expect.channel, phone: phone, psid: psid)
            }) {
                consumed.insert(index)
                return Self.observe(request)
            }
            if Date() > deadline {
                let address = expect.channel == "messenger" ? psid : phone
                throw StepFailure(lines: ["no \(expect.channel) message to \(address) within \(Self.seconds(timeout)) (the simulator's GET /_simulator/requests lists what arrived)"])
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    func awaitWebChat(person: inout Person, timeout: Double) async throws -> Observed {
        guard let token = person.visitorToken else {
            throw StepFailure(lines: ["the visitor has not written yet, so the gateway cannot write to them"])
        }
        let since = person.lastSeen
        var resume: [String: String] = ["type": "resume"]
        if let since { resume["since"] = since }
        let frame = String(decoding: try JSONSerialization.data(withJSONObject: resume), as: UTF8.self)
        let isReply: @Sendable (JSONValue) -> Bool = { message in
            message["direction"]?.string == "outbound" && (message["id"]?.string ?? "") > (since ?? "")
        }
        let frames: [String]
        do {
            frames = try await visitor.exchange(token: token, frames: [frame], timeout: timeout) { frames in
                frames.contains { JSONValue.parse($0)?["message"].map(isReply) == true }
            }
        } catch is SimulatedVisitor.Failure {
            throw StepFailure(lines: ["no web-chat message to visitor \(person.visitorId ?? "?") within \(Self.seconds(timeout))"])
        }
        let message = frames.compactMap { JSONValue.parse($0)?["message"] }.filter(isReply).min { ($0["id"]?.string ?? "") < ($1["id"]?.string ?? "") }!
        person.lastSeen = message["id"]?.string
        let content = message["content"]
        return Observed(
            text: content?["text"]?.string,
            quickReplies: (content?["quickReplies"]?.array ?? []).map { .init(title: $0["title"]?.string ?? "", payload: $0["payload"]?.string) },
            cards: (content?["cards"]?.array ?? []).map { $0["title"]?.string ?? "" },
            raw: message)
    }

    /// A message send (not a capability check) to this contact that the fake provider accepted.
    static func isMessage(_ request: RecordedRequest, channel: String, phone: String, psid: String) -> Bool {
        guard (200...299).contains(request.responseStatus) else { return false }
        switch channel {
        case "sms":
            return request.provider == "twilio" && request.path.hasSuffix("/Messages.json") && request.formValue("To") == phone
        case "rcs":
            return request.provider == "rbm" && request.path.contains("/phones/\(phone)/agentMessages")
        case "messenger":
            return request.provider == "messenger" && JSONValue.parse(request.json)?["recipient"]?["id"]?.string == psid
        default:
            return false
        }
    }

    /// The text and quick replies of a provider request, as the contact will see them.
    static func observe(_ request: RecordedRequest) -> Observed {
        switch request.provider {
        case "twilio":
            var form: [String: JSONValue] = [:]
            for pair in request.form ?? [] where pair.count == 2 && form[pair[0]] == nil { form[pair[0]] = .string(pair[1]) }
            return Observed(text: request.formValue("Body"), quickReplies: [], raw: .object(form))
        case "rbm":
            let body = JSONValue.parse(request.json) ?? .null
            let message = body["contentMessage"]
            let suggestions = (message?["suggestions"]?.array ?? []).compactMap { $0["reply"] ?? $0["action"] }
            let richCard = message?["richCard"]
            let cards = richCard?["standaloneCard"]?["cardContent"].map { [$0] } ?? richCard?["carouselCard"]?["cardContents"]?.array ?? []
            return Observed(
                text: message?["text"]?.string,
                quickReplies: suggestions.map { .init(title: $0["text"]?.string ?? "", payload: $0["postbackData"]?.string) },
                cards: cards.map { $0["title"]?.string ?? "" }, raw: body)
        default:
            let body = JSONValue.parse(request.json) ?? .null
            let message = body["message"]
            return Observed(
                text: message?["text"]?.string,
                quickReplies: (message?["quick_replies"]?.array ?? []).map { .init(title: $0["title"]?.string ?? "", payload: $0["payload"]?.string) },
                cards: message?["attachment"]?["payload"]?["template_type"]?.string == "generic"
                    ? (message?["attachment"]?["payload"]?["elements"]?.array ?? []).map { $0["title"]?.string ?? "" } : [],
                raw: body)
        }
    }

    /// The differences between what was expected and what was sent, as `-`/`+` lines.
    static func compare(_ expect: Scenario.Expect, _ observed: Observed) -> [String] {
        var lines: [String] = []
        // SMS has no buttons: the expected text is the body the Twilio adapter writes, choices numbered.
        let sms = expect.channel == "sms"
        if let text = expect.text ?? (sms && expect.quickReplies != nil ? "" : nil) {
            let wanted = sms
                ? TwilioSMSAdapter.renderText(Content(text: text.isEmpty ? nil : text,
                                                      quickReplies: (expect.quickReplies ?? []).map { Content.QuickReply(title: $0.title, payload: $0.payload ?? $0.title) }))
                : text
            if observed.text != wanted {
                lines += ["- text: \(quote(wanted))", "+ text: \(observed.text.map(quote) ?? "(none)")"]
            }
        }
        if let fragment = expect.textContains, observed.text?.contains(fragment) != true {
            lines += ["- text containing: \(quote(fragment))", "+ text: \(observed.text.map(quote) ?? "(none)")"]
        }
        if let wanted = expect.quickReplies, !sms {
            let matches = wanted.count == observed.quickReplies.count && zip(wanted, observed.quickReplies).allSatisfy { want, got in
                want.title == got.title && (want.payload == nil || want.payload == got.payload)
            }
            if !matches {
                lines += ["- quick replies: \(describe(wanted))", "+ quick replies: \(describe(observed.quickReplies))"]
            }
        }
        if let wanted = expect.cards {
            if sms {
                for title in wanted where observed.text?.contains(title) != true {
                    lines += ["- card in the text: \(quote(title))", "+ text: \(observed.text.map(quote) ?? "(none)")"]
                }
            } else if wanted != observed.cards {
                lines += ["- cards: [\(wanted.map(quote).joined(separator: ", "))]", "+ cards: [\(observed.cards.map(quote).joined(separator: ", "))]"]
            }
        }
        if let rendered = expect.rendered {
            for difference in rendered.differences(from: observed.raw) {
                lines += ["- \(difference.path): \(difference.expected)", "+ \(difference.path): \(difference.actual)"]
            }
        }
        return lines
    }

    static func describe(_ replies: [Scenario.QuickReply]) -> String {
        let items = replies.map { reply -> String in
            guard let payload = reply.payload else { return reply.title }
            return "\(reply.title) (\(payload))"
        }
        return "[" + items.joined(separator: ", ") + "]"
    }

    static func quote(_ text: String) -> String {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    // MARK: The simulator

    func providerRequests() async throws -> [RecordedRequest] {
        let response = try await client.execute(HTTPClientRequest(method: "GET", url: simulatorURL + "/_simulator/requests"))
        guard response.status == 200 else {
            throw ScenarioError(message: "the simulator at \(simulatorURL) answered \(response.status) to GET /_simulator/requests")
        }
        struct List: Decodable { var items: [RecordedRequest] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return Timestamp.date(from: text) ?? Date()
        }
        return try decoder.decode(List.self, from: Data(response.body)).items
    }

    func declarePhone(_ phone: String, rcsFeatures: [String]?) async throws {
        let body: [String: Any] = ["phone": phone, "rcsFeatures": rcsFeatures.map { $0 as Any } ?? NSNull()]
        let response = try await client.execute(HTTPClientRequest(
            method: "POST", url: simulatorURL + "/_simulator/phones", headers: [(name: "Content-Type", value: "application/json")],
            body: Array(try JSONSerialization.data(withJSONObject: body))))
        guard response.status == 204 else {
            throw ScenarioError(message: "the simulator refused the phone \(phone): \(response.status)")
        }
    }
}
