import Foundation
import SwitchboardCore

/// A flow that cannot run, with every problem found (file, step, problem).
public struct FlowError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String { "invalid flows:\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}

extension Flow {
    /// Loads every `*.json` in `directory`, validating each; throws listing all problems.
    public static func loadDirectory(_ directory: String) throws -> [Flow] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".json") }.sorted() ?? []
        var flows: [Flow] = []
        var problems: [String] = []
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append("\(path): cannot be read")
                continue
            }
            let (flow, found) = Self.decode(data, path: path)
            problems += found
            if let flow { flows.append(flow) }
        }
        let names = flows.map(\.name)
        for name in Set(names) where names.filter({ $0 == name }).count > 1 {
            problems.append("\(directory): two flows are named '\(name)'")
        }
        if !problems.isEmpty { throw FlowError(problems: problems) }
        return flows
    }

    /// One flow file's bytes, decoded and validated: the flow when it decodes (even with
    /// problems, so that duplicate names are still found), and every problem, prefixed by `path`.
    public static func decode(_ data: Data, path: String) -> (flow: Flow?, problems: [String]) {
        do {
            let flow = try JSONDecoder().decode(Flow.self, from: data)
            return (flow, flow.problems().map { "\(path): \($0)" })
        } catch let error as DecodingError {
            return (nil, ["\(path): \(Self.describe(error))"])
        } catch {
            return (nil, ["\(path): cannot be read"])
        }
    }

    /// What is wrong with the flow, each naming the step.
    public func problems() -> [String] {
        var problems: [String] = []
        if steps.isEmpty { problems.append("flow '\(name)' has no steps") }
        let ids = steps.map(\.id)
        for id in Set(ids) where ids.filter({ $0 == id }).count > 1 {
            problems.append("step '\(id)': the id is used twice")
        }
        let known = Set(ids)
        if let start, !known.contains(start) { problems.append("start: no step '\(start)'") }
        func target(_ id: String?, _ step: Step, _ field: String) {
            if let id, !known.contains(id) { problems.append("step '\(step.id)' (\(step.type.rawValue)): \(field) names no step '\(id)'") }
        }
        func pattern(_ text: String?, _ step: Step, _ field: String) {
            guard let text else { return }
            if (try? Regex(text)) == nil { problems.append("step '\(step.id)' (\(step.type.rawValue)): \(field) '\(text)' is not a valid regular expression") }
        }
        for step in steps {
            let here = "step '\(step.id)' (\(step.type.rawValue))"
            target(step.next, step, "next")
            switch step.type {
            case .say:
                if (step.text ?? "").isEmpty, (step.attachments ?? []).isEmpty, (step.cards ?? []).isEmpty {
                    problems.append("\(here): needs text, attachments or cards")
                }
                var rich = Content()
                rich.cards = step.cards ?? []
                rich.actions = step.actions ?? []
                if let problem = RichContentRules.problem(rich) { problems.append("\(here): \(problem.message)") }
                for reply in step.quickReplies ?? [] where reply.title.isEmpty || reply.payload.isEmpty {
                    problems.append("\(here): every quick reply needs a title and a payload")
                }
            case .waitFor:
                if let attribute = step.attribute, !AttributeName.isValid(attribute) {
                    problems.append("\(here): '\(attribute)' is not a valid attribute name (\(AttributeName.rule))")
                }
                pattern(step.pattern, step, "pattern")
            case .assignAttribute:
                if !AttributeName.isValid(step.name ?? "") { problems.append("\(here): name must be a valid attribute name (\(AttributeName.rule))") }
                if step.value == nil { problems.append("\(here): value is missing") }
            case .branch:
                guard let on = step.on, ["payload", "attribute", "keyword"].contains(on) else {
                    problems.append("\(here): on must be payload, attribute or keyword")
                    break
                }
                if on == "attribute", !AttributeName.isValid(step.attribute ?? "") { problems.append("\(here): on attribute needs a valid attribute") }
                if (step.cases ?? []).isEmpty { problems.append("\(here): needs cases") }
                for branch in step.cases ?? [] {
                    if (branch.equals == nil) == (branch.matches == nil) { problems.append("\(here): each case has exactly one of equals or matches") }
                    pattern(branch.matches, step, "case matches")
                    target(branch.goto, step, "case goto")
                }
                target(step.default, step, "default")
            case .tag, .untag:
                if !TagName.isValid(step.tag ?? "") { problems.append("\(here): tag must be a valid tag name (\(TagName.rule))") }
            case .subscribe, .unsubscribe, .handoff:
                break
            case .goto:
                if step.target == nil { problems.append("\(here): target is missing") }
                target(step.target, step, "target")
            }
        }
        return problems
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(context.debugDescription) at \(path(context))"
        case .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context))"
        @unknown default:
            return "\(error)"
        }
    }

    static func path(_ context: DecodingError.Context) -> String {
        var parts: [String] = []
        for key in context.codingPath {
            if let index = key.intValue { parts.append("[\(index)]") } else { parts.append(key.stringValue) }
        }
        return parts.isEmpty ? "the top" : parts.joined(separator: ".")
    }
}
