import Foundation
import Strata
import StrataEvaluator

/// The four ways the benchmark answers a query.
package enum BenchWay: String, CaseIterable, Sendable, Codable {
    /// The pipeline on the fully migrated copy: what strata should come close to.
    case ideal
    /// One aggregate on the mixed collection: the lens's upgrading view stages, then the pipeline.
    case upgrading
    /// strata's planner on the mixed collection (`QueryRunner`).
    case planner
    /// Every document fetched with one `find`, upgraded in Swift, the pipeline run in Swift.
    case clientSide
    /// strata's planner with its reads not pinned (`--consistency best-effort`): what
    /// consistency costs is the planner's time over this one's. Not among the default ways.
    case plannerUnpinned

    /// The name used on the command line and in the tables.
    package var label: String {
        switch self {
        case .clientSide: return "client-side"
        case .plannerUnpinned: return "planner-unpinned"
        default: return rawValue
        }
    }

    package init?(label: String) {
        switch label.lowercased() {
        case "client-side", "clientside", "client": self = .clientSide
        case "planner-unpinned", "unpinned": self = .plannerUnpinned
        default: self.init(rawValue: label.lowercased())
        }
    }
}

/// What to benchmark and how often.
package struct BenchConfiguration: Sendable {
    /// The dataset of the generator (events, devices, users) and the lens of the same name.
    package var dataset = "events"
    /// Documents in the mixed collection.
    package var size = 200_000
    /// The generator's `--dist` (percent per version, oldest first); nil: its default.
    package var dist: String?
    /// The generator's `--seed`.
    package var seed = 1
    /// The query files, in order.
    package var queryFiles: [URL] = []
    /// Which query counts for which target (`bench/queries.json`); nil: by the pipeline's shape.
    package var specFile: URL?
    /// Measured runs of each way per query.
    package var repetitions = 5
    /// Unmeasured runs of each way before the measured ones.
    package var warmup = 1
    /// Measured runs of the upgrading aggregate (it takes ~30 s on 200k events).
    package var upgradingRepetitions = 1
    /// Unmeasured runs of the upgrading aggregate.
    package var upgradingWarmup = 0
    /// The ways to run.
    package var ways: [BenchWay] = [.ideal, .upgrading, .planner, .clientSide]
    /// Keep the collections when they hold this dataset, size, mix and seed already.
    package var reuse = false
    /// The lens files.
    package var schemasDirectory = URL(fileURLWithPath: "schemas", isDirectory: true)
    /// `gen.py`.
    package var generator = URL(fileURLWithPath: "Tests/Fixtures/datasets/gen.py")
    /// Where generated files are kept (one folder per dataset, size, seed and mix).
    package var workDirectory = URL(fileURLWithPath: "bench/tmp", isDirectory: true)
    /// Documents per batch of the migrator that makes the migrated copy.
    package var migrationBatch = 500

    package init() {}

    /// The mixed collection: `events_200000`, `events_5000_d100-0-0-0`...
    package var mixedCollection: String {
        var name = "\(dataset)_\(size)"
        if let dist { name += "_d" + dist.replacingOccurrences(of: ",", with: "-") }
        if seed != 1 { name += "_s\(seed)" }
        return name
    }

    /// The migrated copy.
    package var migratedCollection: String { mixedCollection + "_migrated" }

    /// The generator's output folder for this dataset.
    package var generatedDirectory: URL {
        workDirectory.appendingPathComponent("\(dataset)-\(size)-s\(seed)-\(dist.map { $0.replacingOccurrences(of: ",", with: "-") } ?? "default")")
    }

    /// The query files in `directory` whose collection is `dataset`, sorted by name; not
    /// those ending in `$out`/`$merge`: the benchmark times answers and compares them
    /// across its ways, and a writing query answers nothing (each way would write the
    /// same target, the ideal and upgrading ways through the server's own stage).
    package static func defaultQueries(dataset: String, directory: URL = URL(fileURLWithPath: "queries", isDirectory: true)) throws -> [URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw StrataError.badInput("no query folder (pass --query FILE)", at: Location(file: directory.path))
        }
        return try names.filter { $0.hasSuffix(".json") }.sorted()
            .map { directory.appendingPathComponent($0) }
            .filter { url in
                let spec = try QuerySpec.load(contentsOf: url)
                return spec.collection == dataset && !spec.writesResults
            }
    }

    /// Refuses settings that cannot run.
    package func validate() throws {
        guard size >= 1 else { throw StrataError.badInput("--size must be at least 1, not \(size)") }
        guard repetitions >= 1 else { throw StrataError.badInput("--repetitions must be at least 1, not \(repetitions)") }
        guard warmup >= 0, upgradingWarmup >= 0 else { throw StrataError.badInput("warm-up runs cannot be negative") }
        guard upgradingRepetitions >= 1 else {
            throw StrataError.badInput("--upgrading-repetitions must be at least 1 (leave the way out with --ways instead)")
        }
        guard !ways.isEmpty else { throw StrataError.badInput("--ways names no way to run") }
        guard !queryFiles.isEmpty else { throw StrataError.badInput("no query to run") }
        guard migrationBatch >= 1 else { throw StrataError.badInput("the migration batch must be at least 1") }
    }
}

/// A lens describing another collection of the same shape (the benchmark keeps
/// `events_200000` and `events_5000` side by side).
extension Lens {
    package func describing(collection name: String) -> Lens {
        Lens(collection: name, versionField: versionField, absentMeans: absentMeans, steps: steps, indexes: indexes, source: source)
    }
}
