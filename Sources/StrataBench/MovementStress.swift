import Synchronization
import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo

/// Queries answered while documents move between versions: a writer thread replaces
/// documents with their newest form or their original stored form, continuously, so the
/// logical content never changes and every answer must stay the truth; meanwhile each
/// configuration (a server profile, a consistency, a read mechanism) runs the queries
/// over and over. Used by the tests (about a minute) and by `strata bench movement`.
package struct MovementStress: Sendable {
    /// A collection whose documents the writer moves: each document's stored form and its
    /// newest form, by position.
    package struct Target: Sendable {
        package let collection: MongoCollection
        package let stored: [Document]
        package let newest: [Document]
        package init(collection: MongoCollection, stored: [Document], newest: [Document]) {
            precondition(stored.count == newest.count, "one newest form per stored document")
            self.collection = collection
            self.stored = stored
            self.newest = newest
        }
    }

    /// One way of running the queries.
    package struct Configuration: Sendable {
        package let name: String
        package let options: QueryRunner.Options
        /// Query files this configuration does not run (each with its reason, for the report).
        package let skipping: [String: String]
        package init(name: String, options: QueryRunner.Options, skipping: [String: String] = [:]) {
            self.name = name
            self.options = options
            self.skipping = skipping
        }
    }

    package struct Outcome: Sendable, Codable {
        package var configuration: String
        package var right = 0
        package var wrong = 0
        package var refused = 0
        /// Every wrong or refused answer: the query, and what differed or the error.
        package var failures: [String] = []
        package var total: Int { right + wrong + refused }
    }

    package struct Report: Sendable, Codable {
        package var outcomes: [Outcome]
        package var moves: Int
        package var seconds: Double
        package var movesPerSecond: Double { seconds > 0 ? Double(moves) / seconds : 0 }
    }

    /// Queries whose truth, computed by SecantusDB, is not mongod's answer in a way that
    /// shows only when strata evaluates the stage in Swift (the single-cursor plan runs
    /// the whole pipeline there): file → why. `$lookup` + `"$p.name"` through the joined
    /// array: SecantusDB resolves the path to nothing, mongod (and strata) to the names;
    /// `$bucketAuto`'s boundaries (README: known differences).
    package static let swiftEvaluationDivergences = [
        "devices-product-names.json": "SecantusDB resolves \"$p.name\" through an array of documents to nothing; mongod and strata's evaluator to the names",
        "events-amount-quintiles.json": "SecantusDB's $bucketAuto draws other boundaries than mongod's algorithm, which strata's evaluator follows",
    ]

    package let targets: [Target]
    package let schemasDirectory: URL
    package let queries: [(file: String, spec: QuerySpec)]
    /// Documents replaced per write command.
    package var batch = 100
    /// Writer threads (each moving its own share of every target's documents): the
    /// server serves requests in turn, so more writers win the writes a larger share.
    package var writers = 4

    package init(targets: [Target], schemasDirectory: URL, queries: [(file: String, spec: QuerySpec)]) {
        self.targets = targets
        self.schemasDirectory = schemasDirectory
        self.queries = queries
    }

    /// Runs each configuration for `secondsEach` (at least one pass over the queries)
    /// while the writer moves documents. `truth` answers a query as the fully migrated
    /// collection would (asked before the writer starts).
    package func run(_ configurations: [Configuration], secondsEach: Double, database: MongoDatabase,
                    truth: (QuerySpec) throws -> [Document], log: (String) -> Void = { _ in }) throws -> Report {
        let expected = try queries.map { try truth($0.spec) }
        let writer = Writer(targets: targets, batch: batch, threads: writers)
        let clock = ContinuousClock()
        let start = clock.now
        writer.start()
        defer { writer.stop() }
        var outcomes: [Outcome] = []
        for configuration in configurations {
            var outcome = Outcome(configuration: configuration.name)
            let client = StrataClient(database: database, schemasDirectory: schemasDirectory, options: configuration.options)
            let began = clock.now
            repeat {
                for (i, (file, spec)) in queries.enumerated() where configuration.skipping[file] == nil {
                    do {
                        let got = try client.collection(spec.collection).aggregate(spec.pipeline)
                        if let d = ResultComparison.difference(got, expected[i], pipeline: spec.pipeline) {
                            outcome.wrong += 1
                            outcome.failures.append("\(file): \(d)")
                        } else {
                            outcome.right += 1
                        }
                    } catch {
                        outcome.refused += 1
                        outcome.failures.append("\(file): \(error)")
                    }
                    if let e = writer.failure { throw e }
                }
            } while clock.now - began < .milliseconds(Int64(secondsEach * 1000))
            log("\(configuration.name): \(outcome.right) right, \(outcome.wrong) wrong, \(outcome.refused) refused; \(writer.moves) moves so far")
            outcomes.append(outcome)
        }
        writer.stop()
        if let e = writer.failure { throw e }
        let elapsed = clock.now - start
        return Report(outcomes: outcomes, moves: writer.moves,
                      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The writer: on threads of their own, each replaces `batch` random documents of its
    /// share per command, each with the form it is not in now (so every replacement moves
    /// a document).
    final class Writer: Sendable {
        let targets: [Target]
        let batch: Int
        private let stopped = Atomic<Bool>(false)
        /// Entered by each thread while it runs.
        private let running = DispatchGroup()
        private let movesDone = Atomic<Int>(0)
        private let error = Mutex<Error?>(nil)

        let threads: Int

        init(targets: [Target], batch: Int, threads: Int) {
            self.targets = targets
            self.batch = batch
            self.threads = max(1, threads)
        }

        var moves: Int { movesDone.load(ordering: .relaxed) }
        var failure: Error? { error.withLock { $0 } }

        func start() {
            for share in 0..<threads {
                running.enter()
                let thread = Thread { [self] in
                    loop(share: share)
                    running.leave()
                }
                thread.stackSize = 4 << 20
                thread.start()
            }
        }

        func stop() {
            stopped.store(true, ordering: .releasing)
            running.wait()
        }

        /// One write command, sent again (it is idempotent: replacements by `_id`) when the
        /// connection dropped under it — a pooled connection the server closed meanwhile
        /// fails the first write on it, and generic commands are not retried by libmongoc.
        private func send(_ statements: [Document], to collection: MongoCollection) throws {
            var attempt = 0
            while true {
                do {
                    _ = try collection.update(statements)
                    return
                } catch let e as MongoError where e.kind == .connection && attempt < 3 {
                    attempt += 1
                    Thread.sleep(forTimeInterval: 0.1 * Double(attempt))
                }
            }
        }

        /// Moves the documents at positions `share`, `share + threads`, ... of each target.
        private func loop(share: Int) {
            var rng = SystemRandomNumberGenerator()
            // Every document starts in its stored form.
            var newestNow = targets.map { Array(repeating: false, count: $0.stored.count) }
            var t = 0
            while true {
                if stopped.load(ordering: .acquiring) { break }
                t = (t + 1) % targets.count
                let target = targets[t]
                guard !target.stored.isEmpty else { continue }
                var statements: [Document] = []
                var picked = Set<Int>()
                let mine = (target.stored.count - share + threads - 1) / threads
                guard mine > 0 else { continue }
                for _ in 0..<batch {
                    let i = share + threads * Int.random(in: 0..<mine, using: &rng)
                    guard picked.insert(i).inserted, let id = target.stored[i]["_id"] else { continue }
                    newestNow[t][i].toggle()
                    let form = newestNow[t][i] ? target.newest[i] : target.stored[i]
                    statements.append(["q": ["_id": id], "u": .document(form)])
                }
                do {
                    try send(statements, to: target.collection)
                    movesDone.add(statements.count, ordering: .relaxed)
                } catch {
                    self.error.withLock { $0 = error }
                    break
                }
            }
        }
    }
}

extension MovementStress {
    /// Generates `datasets` (name → documents) with gen.py into `workDirectory`, loads each
    /// mixed collection, its migrated truth (`<name>_truth`) and `products` into `database`
    /// (dropped first), creates `indexes` (per dataset, from the lens's plan), and returns
    /// the stress over the catalog queries of those collections in `queriesDirectory`.
    package static func prepare(database: MongoDatabase, datasets: [(name: String, count: Int)], generator: URL,
                               workDirectory: URL, schemasDirectory: URL, queriesDirectory: URL,
                               indexes: (String, LensIndexPlan) -> LensIndexPlan = { $1 },
                               log: (String) -> Void = { _ in }) throws -> MovementStress {
        var targets: [Target] = []
        var queries: [(file: String, spec: QuerySpec)] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: queriesDirectory.path).sorted().filter { $0.hasSuffix(".json") }
        for (name, count) in datasets {
            let dir = workDirectory.appendingPathComponent("movement-\(name)-\(count)")
            try DatasetGenerator.generate(generator, dataset: name, count: count, seed: 1, dist: nil, into: dir)
            let mixed = try Self.documents(dir.appendingPathComponent("\(name).mixed.jsonl"))
            let truth = try Self.documents(dir.appendingPathComponent("\(name).truth.jsonl"))
            for (collection, docs) in [(name, mixed), (name + "_truth", truth)] {
                try database.collection(collection).drop()
                _ = try database.collection(collection).insertMany(docs)
            }
            let products = dir.appendingPathComponent("products.jsonl")
            if FileManager.default.fileExists(atPath: products.path) {
                try database.collection("products").drop()
                _ = try database.collection("products").insertMany(try Self.documents(products))
            }
            let lens = try Lens.load(collection: name, schemasDirectory: schemasDirectory)
            _ = try indexes(name, LensIndexPlan(lens: lens)).create(on: database.collection(name))
            let newest = Dictionary(truth.map { (GroupKey($0["_id"] ?? .null), $0) }, uniquingKeysWith: { a, _ in a })
            let paired = mixed.compactMap { d in newest[GroupKey(d["_id"] ?? .null)].map { (d, $0) } }
            targets.append(Target(collection: database.collection(name), stored: paired.map(\.0), newest: paired.map(\.1)))
            for file in files where file.hasPrefix(name + "-") {
                let spec = try QuerySpec.load(contentsOf: queriesDirectory.appendingPathComponent(file))
                // Answers are compared with the truth's; a query ending in $out/$merge
                // answers nothing (it writes), so it has no place here.
                if spec.collection == name && !spec.writesResults { queries.append((file, spec)) }
            }
            log("loaded \(name): \(mixed.count) documents and their truth")
        }
        return MovementStress(targets: targets, schemasDirectory: schemasDirectory, queries: queries)
    }
}

extension MovementStress {
    static func documents(_ url: URL) throws -> [Document] {
        var out: [Document] = []
        try JSONLines(contentsOf: url).forEachDocument { _, d in out.append(d) }
        return out
    }
}

extension MovementStress.Report {
    /// The report as a Markdown table: per configuration, the answers right, wrong and
    /// refused, then the moves.
    package func markdown(command: String?) -> String {
        var out = "# Queries while documents move\n\n"
        if let command { out += "- command: `\(command)`\n" }
        out += "- \(moves) moves in \(String(format: "%.1f", seconds)) s: \(Int(movesPerSecond.rounded())) moves/s\n\n"
        out += "| configuration | answers | right | wrong | refused |\n| --- | --- | --- | --- | --- |\n"
        for o in outcomes { out += "| \(o.configuration) | \(o.total) | \(o.right) | \(o.wrong) | \(o.refused) |\n" }
        let failures = outcomes.flatMap { o in o.failures.prefix(5).map { "- \(o.configuration): \($0.split(separator: "\n").first ?? "")" } }
        if !failures.isEmpty { out += "\nFirst wrong or refused answers:\n" + failures.joined(separator: "\n") + "\n" }
        return out
    }
}
