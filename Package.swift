// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "strata",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        .executable(name: "strata", targets: ["strata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libmongoc and libbson, found by pkg-config. Only StrataMongo imports it.
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]
        ),
        // PCRE2 (8-bit), the regular-expression library mongod uses since 6.1. Only StrataEvaluator
        // (Regex.swift) imports it.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // The driver layer: BSON values, Extended JSON and commands over libmongoc.
        .target(name: "StrataMongo", dependencies: ["CMongoc"]),
        // The Swift evaluator: BSON order, expressions, queries, projections, accumulators, stages.
        .target(name: "StrataEvaluator", dependencies: ["StrataMongo", "CPCRE2"]),
        // The lens: schema files and the operations that turn one version into the next.
        .target(name: "StrataLens", dependencies: ["StrataEvaluator"]),
        // Planner, merger, runtime, histogram, import: the public face of the library.
        .target(name: "Strata", dependencies: ["StrataMongo", "StrataEvaluator", "StrataLens"]),
        .executableTarget(
            name: "strata",
            dependencies: ["Strata", "StrataMongo", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Starts the embedded server for tests and loads the shared datasets.
        .target(name: "StrataTestSupport", dependencies: ["Strata", "StrataMongo"], path: "Tests/StrataTestSupport"),
        .testTarget(name: "StrataMongoTests", dependencies: ["StrataMongo", "StrataTestSupport"]),
        .testTarget(name: "StrataEvaluatorTests", dependencies: ["StrataEvaluator", "StrataTestSupport"]),
        .testTarget(name: "StrataLensTests", dependencies: ["StrataLens", "StrataTestSupport"]),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataMongo", "StrataTestSupport"]),
        .testTarget(name: "StrataCLITests", dependencies: ["StrataTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
