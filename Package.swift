// swift-tools-version:6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
        .library(name: "SwitchboardServer", targets: ["SwitchboardServer"]),
        .library(name: "SwitchboardSimulator", targets: ["SwitchboardSimulator"]),
        .library(name: "SwitchboardTesting", targets: ["SwitchboardTesting"]),
        // What the fuzzer (Tests/Fuzz, its own package) and the regression tests feed bytes through.
        .library(name: "SwitchboardFuzzTargets", targets: ["SwitchboardFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // postgres-nio's TLS settings (sslmode) are swift-nio-ssl's TLSConfiguration.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // libcurl, through pkg-config; the shim header gives typed wrappers for its variadic setters.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The normalized message and contact model, identifiers, and the seams (ChannelAdapter, Bot).
        .target(
            name: "SwitchboardCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The built-in bot flows: a pure engine over Config/flows/*.json.
        .target(
            name: "SwitchboardFlows",
            dependencies: ["SwitchboardCore"],
            swiftSettings: strictSettings
        ),
        // An async HTTP client on libcurl's multi interface, for every provider call.
        .target(
            name: "CurlHTTPClient",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Storage: the embedded SQLite backend (GRDB: migrations, records, group commit) and the
        // PostgreSQL backend for several instances (postgres-nio).
        .target(
            name: "SwitchboardStorage",
            dependencies: [
                "SwitchboardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // Channel adapters: pure functions from provider bytes to normalized values and back.
        .target(
            name: "TwilioSMSAdapter",
            dependencies: [
                "SwitchboardCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "ChannelAdapters/TwilioSMS",
            swiftSettings: strictSettings
        ),
        .target(
            name: "MessengerAdapter",
            dependencies: ["SwitchboardCore"],
            path: "ChannelAdapters/Messenger",
            swiftSettings: strictSettings
        ),
        .target(
            name: "RBMAdapter",
            dependencies: ["SwitchboardCore", .product(name: "_CryptoExtras", package: "swift-crypto")],
            path: "ChannelAdapters/RBM",
            swiftSettings: strictSettings
        ),
        // The gateway: Hummingbird routes, the ingest pipeline, the outbox worker, the bots.
        .target(
            name: "SwitchboardServer",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardStorage",
                "SwitchboardFlows",
                "CurlHTTPClient",
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The console and the web-chat widget: plain HTML, CSS and ES modules, no build step.
            resources: [.copy("Web")],
            swiftSettings: strictSettings
        ),
        // The provider simulator: fake send APIs on loopback and a signer of inbound webhooks.
        .target(
            name: "SwitchboardSimulator",
            dependencies: [
                "SwitchboardCore",
                "CurlHTTPClient",
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // For bot developers' own tests: the gateway and the simulator in process.
        .target(
            name: "SwitchboardTesting",
            dependencies: [
                "SwitchboardServer",
                "SwitchboardSimulator",
                "SwitchboardCore",
                "CurlHTTPClient",
                // The provider channels' configuration sections live in their adapters' targets.
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardServer",
                "SwitchboardSimulator",
                "SwitchboardStorage",
                "SwitchboardCore",
                "CurlHTTPClient",
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Every decoder of outside bytes behind one call per fuzz target: shared by the libFuzzer
        // executable (Tests/Fuzz) and FuzzRegressionTests, which replays the corpus and crash inputs.
        .target(
            name: "SwitchboardFuzzTargets",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardFlows",
                "SwitchboardServer",
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Reads provider fixtures from Tests/Fixtures for the adapter tests.
        .target(
            name: "FixtureSupport",
            path: "Tests/FixtureSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardFlowsTests",
            dependencies: ["SwitchboardFlows", "SwitchboardCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardCoreTests",
            dependencies: ["SwitchboardCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TwilioSMSAdapterTests",
            dependencies: ["TwilioSMSAdapter", "SwitchboardCore", "FixtureSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MessengerAdapterTests",
            dependencies: ["MessengerAdapter", "SwitchboardCore", "FixtureSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RBMAdapterTests",
            dependencies: ["RBMAdapter", "SwitchboardCore", "FixtureSupport"],
            swiftSettings: strictSettings
        ),
        // Replays the fuzz corpus and every crash input the fuzzer found; audits the gateway's
        // sources for traps reachable from a request.
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["SwitchboardFuzzTargets", "SwitchboardServer"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CurlHTTPClientTests",
            dependencies: [
                "CurlHTTPClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardTestingTests",
            dependencies: [
                "SwitchboardTesting", "SwitchboardServer", "SwitchboardSimulator", "RBMAdapter", "SwitchboardCore", "CurlHTTPClient",
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardEndToEndTests",
            dependencies: [
                "FixtureSupport",
                "SwitchboardTesting",
                "SwitchboardServer",
                "SwitchboardSimulator",
                "SwitchboardStorage",
                "SwitchboardCore",
                "CurlHTTPClient",
                "TwilioSMSAdapter",
                "MessengerAdapter",
                "RBMAdapter",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
