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
        // The commands of the `warden` executable, as a library so tests can parse them in-process.
        .target(
            name: "WardenCLI",
            dependencies: [
                "WardenJSON",
                "WardenPolicy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "warden", dependencies: ["WardenCLI"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "warden-bench",
            dependencies: ["WardenJSON", "WardenPolicy"],
            path: "bench/Sources/warden-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "WardenJSONTests", dependencies: ["WardenJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WardenPolicyTests",
            dependencies: ["WardenPolicy", "WardenJSON"],
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
