// swift-tools-version:6.2
import PackageDescription

// The libFuzzer executable, a package of its own so that the gateway's build and `swift test`
// never see the sanitizer flags. scripts/fuzz builds and runs it.
let package = Package(
    name: "switchboard-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: "../.."),
    ],
    targets: [
        // libFuzzer's driver, declared for Swift (see FuzzEntry.swift for why it is called directly).
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "SwitchboardFuzz",
            dependencies: [
                "CLibFuzzer",
                .product(name: "SwitchboardFuzzTargets", package: "switchboard"),
            ]
        ),
    ]
)
