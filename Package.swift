// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
        .library(name: "WardenJSON", targets: ["WardenJSON"]),
        .library(name: "WardenPolicy", targets: ["WardenPolicy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // A JSON reader and value model fit for a proxy: exact numbers, key order, strict input.
        .target(name: "WardenJSON", swiftSettings: swiftSettings),
        // The policy language: model, loading, evaluation. Pure: no I/O, no NIO.
        .target(
            name: "WardenPolicy",
            dependencies: [
                "WardenJSON",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // MCP protocol knowledge: JSON-RPC messages, framing, denial results, tools/list filtering.
        .target(name: "WardenMCP", dependencies: ["WardenJSON", "WardenPolicy"], swiftSettings: swiftSettings),
        // State behind protocols (counters, audit, grants, approvals, admin tokens); SQLite and
        // PostgreSQL implement them.
        .target(
            name: "WardenStore",
            dependencies: [
                "WardenJSON",
                "WardenPolicy",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What a server's tools can do: tool definitions and their fingerprints, risk
        // classification, poisoning checks, starter policies, lock files. Pure: no I/O.
        .target(
            name: "WardenCatalogue",
            dependencies: ["WardenJSON", "WardenPolicy", "WardenMCP", "WardenStore"],
            swiftSettings: swiftSettings
        ),
        // The interception pipeline: sessions, the stdio gateway, the HTTP gateway.
        .target(
            name: "WardenGateway",
            dependencies: [
                "WardenJSON",
                "WardenPolicy",
                "WardenMCP",
                "WardenStore",
                "WardenCatalogue",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // The commands of the `warden` executable, as a library so tests can parse them in-process.
        .target(
            name: "WardenCLI",
            dependencies: [
                "WardenJSON",
                "WardenPolicy",
                "WardenStore",
                "WardenGateway",
                "WardenCatalogue",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "warden", dependencies: ["WardenCLI"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "warden-bench",
            dependencies: ["WardenJSON", "WardenPolicy", "WardenStore"],
            path: "bench/Sources/warden-bench",
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: an in-memory store, a fake upstream and a recording
        // client for the session pipeline, a test clock, a seeded generator.
        .target(
            name: "WardenTesting",
            dependencies: ["WardenJSON", "WardenPolicy", "WardenMCP", "WardenStore", "WardenGateway"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WardenJSONTests", dependencies: ["WardenJSON", "WardenTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WardenPolicyTests",
            dependencies: ["WardenPolicy", "WardenJSON", "WardenTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WardenMCPTests", dependencies: ["WardenMCP", "WardenJSON", "WardenPolicy"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WardenStoreTests",
            dependencies: [
                "WardenStore", "WardenPolicy", "WardenJSON", "WardenTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WardenGatewayTests",
            dependencies: [
                "WardenGateway", "WardenPolicy", "WardenJSON", "WardenMCP", "WardenStore", "WardenTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WardenCatalogueTests",
            dependencies: ["WardenCatalogue", "WardenPolicy", "WardenJSON", "WardenTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WardenCLITests",
            dependencies: [
                "WardenCLI",
                "WardenJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
