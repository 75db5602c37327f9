import Foundation
import SwitchboardFuzzTargets
import Testing

/// Every input under Tests/Fuzz/Corpus/<target> and Tests/Fuzz/Crashes/<target>, fed through the
/// same target the fuzzer ran. A decoder that traps stops this test process: the input that did it
/// is the file the fuzzer kept.
@Suite("Fuzz corpus and crash inputs")
struct FuzzCorpusReplayTests {
    static let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let directory = fuzzRoot.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test("every corpus input decodes or is refused", arguments: FuzzTarget.allCases)
    func corpus(_ target: FuzzTarget) throws {
        let files = Self.inputs("Corpus", target)
        // The seeds come from the documented fixtures: an empty folder means the corpus was lost.
        #expect(!files.isEmpty, "Tests/Fuzz/Corpus/\(target.rawValue) is empty")
        for file in files {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test("every crash input the fuzzer kept is refused without a trap", arguments: FuzzTarget.allCases)
    func crashes(_ target: FuzzTarget) throws {
        for file in Self.inputs("Crashes", target) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }
}
