import CLibFuzzer
import Foundation
import SwitchboardFuzzTargets

// One build serves every target: FUZZ_TARGET names the decoder (scripts/fuzz sets it).
let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("FUZZ_TARGET must be one of \(names); it is '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's entry point: one input, fed through the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    target.run(bytes)
    return 0
}

/// The process's `main`. SwiftPM links every executable with `--defsym main=<module>_main` (so that
/// tests can link it), which hides libFuzzer's own `main`; this one hands over to libFuzzer's driver.
@_cdecl("SwitchboardFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        fuzzTestOneInput(data, size)
    }
}
