// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "strata",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        .library(name: "StrataTesting", targets: ["StrataTesting"]),
        .executable(name: "strata", targets: ["strata"]),
    ],
    dependencies: [
        // `make docs`: the DocC catalog (Sources/Strata/Strata.docc). A command plugin only: nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Only for the example (Examples/ServiceExample), not the library.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // libbson alone, found by pkg-config: BSON encoding and Extended JSON. Only StrataLibBSON imports it.
        .systemLibrary(
            name: "CBSON",
            pkgConfig: "libbson-1.0",
            providers: [.apt(["libbson-dev"])]
        ),
        // libmongoc (and the libbson it needs), found by pkg-config. Only StrataMongo imports it.
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
        // The BSON value model in pure Swift: BSON, Document, ObjectId, Decimal128's bits.
        .target(name: "StrataBSON"),
        // The libbson codec: documents to and from bson_t, Extended JSON, decimal text. No libmongoc.
        .target(name: "StrataLibBSON", dependencies: ["StrataBSON", "CBSON"]),
        // The driver layer: connections, cursors and commands over libmongoc.
        .target(name: "StrataMongo", dependencies: ["StrataBSON", "StrataLibBSON", "CMongoc"]),
        // The Swift evaluator: BSON order, expressions, queries, projections, accumulators, stages.
        .target(name: "StrataEvaluator", dependencies: ["StrataBSON", "StrataLibBSON", "CPCRE2"]),
        // The lens: schema files and the operations that turn one version into the next.
        .target(name: "StrataLens", dependencies: ["StrataBSON", "StrataLibBSON", "StrataEvaluator"]),
        // Planner, merger, runtime, histogram, import: the public face of the library.
        .target(name: "Strata", dependencies: ["StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator", "StrataLens",
                                               .product(name: "Logging", package: "swift-log"),
                                               .product(name: "Metrics", package: "swift-metrics"),
                                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        // Helpers for users' tests: a server, a collection seeded mid-migration next to its
        // migrated copy, and answers compared (no XCTest or Testing import: they throw).
        .target(name: "StrataTesting", dependencies: ["Strata", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator", "StrataLens"]),
        // `strata bench`: the datasets, the ways of answering, the runs and the report.
        .target(name: "StrataBench", dependencies: ["Strata", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator", "StrataLens"]),
        .executableTarget(
            name: "strata",
            dependencies: ["Strata", "StrataBench", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator", "StrataLens",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // An HTTP service (Hummingbird 2) running a MigratorService and a LiveHistogramService in a
        // ServiceGroup; built with everything, and launched by StrataCLITests' ServiceExampleTests.
        .executableTarget(
            name: "StrataServiceExample",
            dependencies: ["Strata", "StrataMongo",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Examples/ServiceExample"
        ),
        // Test helpers that need no server: the repository's fixture paths, gzipped fixtures, a seeded
        // generator, and the evaluator tests' Extended JSON shorthands and documents.
        .target(name: "StrataTestFixtures", dependencies: ["StrataBSON", "StrataLibBSON", "StrataEvaluator"],
                path: "Tests/StrataTestFixtures"),
        // Starts the embedded server for tests and loads the shared datasets.
        .target(name: "StrataTestSupport", dependencies: ["Strata", "StrataBench", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataTestFixtures"],
                path: "Tests/StrataTestSupport"),
        .testTarget(name: "StrataMongoTests", dependencies: ["StrataBSON", "StrataLibBSON", "StrataMongo", "StrataTestSupport"]),
        // Pure: no server, no libmongoc.
        .testTarget(name: "StrataEvaluatorTests", dependencies: ["StrataBSON", "StrataLibBSON", "StrataEvaluator", "StrataTestFixtures"]),
        // Pure: no server, no libmongoc.
        .testTarget(name: "StrataLensTests", dependencies: ["StrataBSON", "StrataLibBSON", "StrataEvaluator", "StrataLens", "StrataTestFixtures"]),
        // The evaluator and the lens checked against the server (differential tests).
        .testTarget(name: "StrataServerTests", dependencies: ["StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator", "StrataLens",
                                                              "StrataTestFixtures", "StrataTestSupport"]),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataBench", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataEvaluator",
                                                        "StrataLens", "StrataTestFixtures", "StrataTestSupport", "StrataTesting",
                                                        .product(name: "InMemoryLogging", package: "swift-log"),
                                                        .product(name: "MetricsTestKit", package: "swift-metrics"),
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "StrataCLITests", dependencies: ["Strata", "StrataBSON", "StrataLibBSON", "StrataMongo", "StrataTestFixtures", "StrataTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
