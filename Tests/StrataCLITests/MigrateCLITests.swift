import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `strata migrate` as an operator runs it: the built binary against the test server.
final class MigrateCLITests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas").path

    /// Loads a generated dataset (and products) into a fresh database; returns its truth.
    func load(_ dataset: String, count: Int, database: String) throws -> (MongoDatabase, [Document]) {
        let dir = try Datasets.generate(dataset, count: count)
        let db = try TestServer.freshDatabase(database)
        try db.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
        if dataset == "devices" {
            try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
        }
        return (db, try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
    }

    static func key(_ v: BSON) -> String { ExtendedJSON.string(v, mode: .canonical) }

    /// `nil` when the collection equals `truth` document for document (key order aside,
    /// doubles bit for bit) with the same count.
    static func difference(_ coll: MongoCollection, _ truth: [Document]) throws -> String? {
        let stored = try coll.find().all()
        if stored.count != truth.count { return "\(stored.count) documents, the truth has \(truth.count)" }
        let want = Dictionary(uniqueKeysWithValues: truth.map { (key($0["_id"]!), $0) })
        for d in stored {
            guard let t = want[key(d["_id"]!)] else { return "unexpected _id \(key(d["_id"]!))" }
            if let diff = BSONComparison().difference(d, t) { return "_id \(key(d["_id"]!)): \(diff)" }
        }
        return nil
    }

    static func jsonLines(_ text: String) throws -> [Document] {
        try text.split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
    }

    func migrateArgs(_ collection: String, _ db: MongoDatabase, _ extra: [String] = []) throws -> [String] {
        ["migrate", "-c", collection, "--uri", try TestServer.uri(), "--db", db.name, "--schemas", Self.schemas] + extra
    }

    // MARK: the three datasets

    func testEachDatasetMigratesToItsTruth() throws {
        for (dataset, count) in [("users", 1500), ("devices", 1500), ("events", 2000)] {
            let (db, truth) = try load(dataset, count: count, database: "cli_migrate_\(dataset)")
            let r = try StrataRunner.run(try migrateArgs(dataset, db, ["--batch", "250"]), timeout: 120)
            XCTAssertEqual(r.status, 0, "\(dataset): \(r.stderr)")
            let lines = try Self.jsonLines(r.stdout)
            let summary = try XCTUnwrap(lines.last)
            XCTAssertEqual(summary["summary"], true)
            XCTAssertEqual(summary["failed"]?.exactInt, 0)
            XCTAssertEqual(summary["migrated"]?.exactInt, summary["expected"]?.exactInt)
            XCTAssertGreaterThan(summary["migrated"]?.exactInt ?? 0, Int64(count / 2))
            XCTAssertEqual(summary["complete"], true)
            XCTAssertGreaterThan(lines.count, 2, "one line per batch")
            for batch in lines.dropLast() {
                for field in ["pass", "batch", "examined", "migrated", "skipped", "failed", "rate", "etaSeconds", "expected"] {
                    XCTAssertNotNil(batch[field], "\(field) in \(batch)")
                }
            }
            if let diff = try Self.difference(db.collection(dataset), truth) { XCTFail("\(dataset): \(diff)") }
            let h = try StrataRunner.run(["histogram", "-c", dataset, "--json", "--uri", try TestServer.uri(), "--db", db.name,
                                          "--schemas", Self.schemas])
            XCTAssertEqual(h.status, 0, h.stderr)
            let histogram = try ExtendedJSON.parseDocument(h.stdout)
            let versions = histogram["versions"]?.arrayValue?.compactMap(\.documentValue) ?? []
            let newest = ["users": 3, "devices": 2, "events": 3][dataset]!
            for v in versions {
                XCTAssertEqual(v["count"]?.exactInt, v["version"]?.exactInt == Int64(newest) ? Int64(count) : 0, "\(dataset) \(v)")
            }
            // A second run finds nothing to do.
            let again = try StrataRunner.run(try migrateArgs(dataset, db))
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertEqual(try Self.jsonLines(again.stdout).last?["migrated"]?.exactInt, 0)
        }
    }

    // MARK: SIGKILL

    /// Kills the migrator with SIGKILL partway, twice, and runs it again: the collection
    /// ends equal to the truth with the same number of documents.
    func testKilledTwiceThenRestartedEqualsTheTruth() throws {
        let (db, truth) = try load("events", count: 3000, database: "cli_migrate_kill")
        let coll = db.collection("events")
        var previous = try coll.countDocuments(["v": 3])
        for round in 1...2 {
            let killed = try MigrateProcess.start(try migrateArgs("events", db, ["--rate", "800", "--batch", "80"]))
            let seen = try killed.killAfter(batchLines: 4)
            XCTAssertGreaterThanOrEqual(seen, 4)
            let now = try coll.countDocuments(["v": 3])
            XCTAssertGreaterThan(now, previous, "round \(round) made progress")
            XCTAssertEqual(try coll.countDocuments(), 3000, "nothing lost or duplicated (round \(round))")
            previous = now
        }
        XCTAssertLessThan(previous, 3000, "killed before the end")
        let r = try StrataRunner.run(try migrateArgs("events", db, ["--batch", "300"]), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        if let diff = try Self.difference(coll, truth) { XCTFail(diff) }
    }

    /// The same for a key-changing lens, without transactions (insert, then delete).
    func testKilledKeyChangeMigrationEqualsTheTruth() throws {
        let db = try TestServer.freshDatabase("cli_migrate_kill_accounts")
        let coll = db.collection("accounts")
        var mixed: [Document] = [], truth: [Document] = []
        for i in 0..<600 {
            let typed = i % 2 == 0 ? "User.\(i)@Example.COM" : "user.\(i)@example.com"
            let created = BSON.date(1_700_000_000_000 + Int64(i))
            mixed.append(i % 5 == 0 ? ["_id": .string(typed.lowercased()), "v": 1, "name": "n", "createdAt": created, "plan": "pro"]
                                    : ["_id": .string(typed), "name": "n", "createdAt": created])
            truth.append(["_id": .string(typed.lowercased()), "v": 1, "name": "n", "createdAt": created, "plan": i % 5 == 0 ? "pro" : "free"])
        }
        try coll.insertMany(mixed)
        for _ in 1...2 {
            let p = try MigrateProcess.start(try migrateArgs("accounts", db, ["--rate", "400", "--batch", "40", "--transactions", "never"]))
            _ = try p.killAfter(batchLines: 3)
            XCTAssertGreaterThanOrEqual(try coll.countDocuments(), 600, "never fewer")
        }
        let r = try StrataRunner.run(try migrateArgs("accounts", db, ["--transactions", "never"]), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        if let diff = try Self.difference(coll, truth) { XCTFail(diff) }
    }

    // MARK: a concurrent writer

    /// While the migrator runs (a separate process), a writer updates random documents
    /// through the repository (read, change, save; a conflict means read again and redo),
    /// and an "old application" keeps changing documents still at version 0 in place
    /// (`$set`, the version untouched): the migrator must skip those it read before the
    /// change and pick them up again. Afterwards every update of both is there, and
    /// everything else equals the truth.
    func testConcurrentWritersUpdatesSurvive() throws {
        let (db, truth) = try load("users", count: 1500, database: "cli_migrate_writer")
        let coll = db.collection("users")
        let lens = try Lens.load(collection: "users", schemasDirectory: URL(fileURLWithPath: Self.schemas))
        let repo = try VersionedRepository(database: db, lens: lens)
        let legacyIds = try coll.find(["schema_version": ["$exists": false], "_id": ["$mod": [2, 1]]]).all().compactMap { $0["_id"]?.exactInt }
        XCTAssertGreaterThan(legacyIds.count, 100)
        let p = try MigrateProcess.start(try migrateArgs("users", db, ["--rate", "500", "--batch", "50"]))

        // The old application: odd _ids still at version 0, their country changed in place.
        let oldApp = Locked<[Int64: String]>([:])
        let oldAppDone = DispatchSemaphore(value: 0)
        let oldAppError = Locked<Error?>(nil)
        Thread {
            defer { oldAppDone.signal() }
            var n = 0
            while p.isRunning {
                n += 1
                let id = legacyIds[n % legacyIds.count]
                let country = "Z\(n)"
                do {
                    let r = try coll.update([["q": ["_id": .int64(id), "schema_version": ["$exists": false]],
                                              "u": ["$set": ["country": .string(country)]]]])
                    if r.modified == 1 { oldApp.mutate { $0[id] = country } }
                } catch {
                    oldAppError.mutate { $0 = error }
                    return
                }
            }
        }.start()

        // The new application, through the repository: even _ids.
        var written: [Int64: Int32] = [:]
        var conflicts = 0, updates: Int32 = 0
        var rng = SystemRandomNumberGenerator()
        while p.isRunning || updates < 50 {
            let id = Int64(Int.random(in: 1...750, using: &rng) * 2)
            updates += 1
            while true {
                var v = try XCTUnwrap(repo.findOne(byId: .int64(id)))
                v.document["logins"] = .int32(1_000_000 + updates)
                v.document["nickname"] = .string("w\(updates)")
                do {
                    try repo.save(v)
                    written[id] = 1_000_000 + updates
                    break
                } catch let e as StrataError where e.kind == .conflict {
                    conflicts += 1
                }
            }
        }
        let (status, out) = try p.wait()
        oldAppDone.wait()
        XCTAssertNil(oldAppError.value)
        XCTAssertEqual(status, 0, out)
        let summary = try XCTUnwrap(try Self.jsonLines(out).last)
        XCTAssertEqual(summary["complete"], true, "\(summary)")
        XCTAssertGreaterThan(written.count, 20)
        XCTAssertGreaterThan(oldApp.value.count, 5)
        print("concurrent writers: \(updates) repository updates on \(written.count) documents (\(conflicts) conflicts retried), \(oldApp.value.count) in-place updates at version 0; migrator: \(ReportJSON.line(summary))")
        let stored = try coll.find().all()
        XCTAssertEqual(stored.count, 1500)
        let want = Dictionary(uniqueKeysWithValues: truth.map { (Self.key($0["_id"]!), $0) })
        let countries = oldApp.value
        for d in stored {
            var expected = want[Self.key(d["_id"]!)]!
            if let id = d["_id"]?.exactInt, let logins = written[id] {
                expected["logins"] = .int32(logins)
                expected["nickname"] = .string("w\(logins - 1_000_000)")
            }
            if let id = d["_id"]?.exactInt, let country = countries[id] {
                expected["address"] = ["country": .string(country)]
            }
            if let diff = BSONComparison().difference(d, expected) { return XCTFail("_id \(d["_id"]!): \(diff)") }
        }
    }

    // MARK: arguments and output

    func testRateDryRunAndArguments() throws {
        let (db, truth) = try load("devices", count: 300, database: "cli_migrate_args")
        let dry = try StrataRunner.run(try migrateArgs("devices", db, ["--dry-run", "--rate", "400"]))
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let lines = try Self.jsonLines(dry.stdout)
        XCTAssertEqual(lines.last?["dryRun"], true)
        for line in lines.dropLast() {
            XCTAssertEqual(line["requestedRate"]?.doubleValue, 400)
            XCTAssertGreaterThan(line["rate"]?.doubleValue ?? 0, 0, "the achieved rate is reported")
        }
        XCTAssertGreaterThan(lines.last?["rate"]?.doubleValue ?? 0, 0)
        XCTAssertNotNil(try db.collection("devices").findOne(["schemaVersion": ["$exists": false]]), "nothing written")

        let r = try StrataRunner.run(try migrateArgs("devices", db, ["--to", "1", "--rate", "1000"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try db.collection("devices").countDocuments(["schemaVersion": 1]) + (try db.collection("devices").countDocuments(["schemaVersion": 2])), 300)
        XCTAssertEqual(try Self.jsonLines(r.stdout).last?["requestedRate"]?.doubleValue, 1000)
        let finish = try StrataRunner.run(try migrateArgs("devices", db))
        XCTAssertEqual(finish.status, 0, finish.stderr)
        if let diff = try Self.difference(db.collection("devices"), truth) { XCTFail(diff) }

        for (args, expected) in [(["--batch", "0"], "--batch"), (["--rate", "-3"], "--rate"), (["--rate", "fast"], "--rate"),
                                 (["--to", "9"], "knows versions 0...2"), (["--transactions", "sometimes"], "--transactions")] {
            let bad = try StrataRunner.run(try migrateArgs("devices", db, args))
            XCTAssertEqual(bad.status, 2, "\(args): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains(expected), "\(args): \(bad.stderr)")
        }
        let noLens = try StrataRunner.run(["migrate", "-c", "nothing", "--uri", try TestServer.uri(), "--schemas", Self.schemas])
        XCTAssertEqual(noLens.status, 2, noLens.stderr)
        XCTAssertTrue(noLens.stderr.contains("nothing.json does not exist"), noLens.stderr)
        let help = try StrataRunner.run(["migrate", "--help"])
        XCTAssertEqual(help.status, 0)
        for option in ["--collection", "--to", "--batch", "--rate", "--dry-run", "--transactions", "--max-passes", "--json", "--uri", "--db", "--schemas"] {
            XCTAssertTrue(help.stdout.contains(option), "\(option) in --help")
        }
    }

    /// Documents the upgrade cannot handle: exit 5, reported by _id, left untouched.
    func testFailuresExitFiveAndAreListed() throws {
        let (db, _) = try load("events", count: 200, database: "cli_migrate_failures")
        let bad: Document = ["_id": 99_999, "ts": .date(0), "type": "View", "user": 1, "amountCents": "twelve", "tags": [], "region": "x"]
        try db.collection("events").insertOne(bad)
        let r = try StrataRunner.run(try migrateArgs("events", db))
        XCTAssertEqual(r.status, 5, r.stderr)
        let summary = try XCTUnwrap(try Self.jsonLines(r.stdout).last)
        let failures = summary["failures"]?.arrayValue?.compactMap(\.documentValue) ?? []
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failures.first?["_id"]?.exactInt, 99_999)
        XCTAssertTrue(failures.first?["reason"]?.stringValue?.contains("$divide") == true, "\(failures)")
        XCTAssertEqual(try db.collection("events").findOne(["_id": 99_999]), bad)
        XCTAssertEqual(try db.collection("events").countDocuments(["v": 3]), 200)
    }
}

/// A `strata migrate` child process whose JSON lines are read as they come.
final class MigrateProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()
    private var buffer = Data()

    static func start(_ args: [String]) throws -> MigrateProcess {
        let m = MigrateProcess()
        m.process.executableURL = StrataRunner.binary
        m.process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["STRATA_URI"] = nil
        env["STRATA_DB"] = nil
        m.process.environment = env
        m.process.standardOutput = m.out
        m.process.standardError = FileHandle.nullDevice
        try m.process.run()
        return m
    }

    var isRunning: Bool { process.isRunning }

    /// Reads until `batchLines` batch lines arrived, then SIGKILLs; returns the lines seen.
    func killAfter(batchLines: Int, timeout: TimeInterval = 60) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var lines = 0
        while lines < batchLines && Date() < deadline && process.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            lines = buffer.split(separator: UInt8(ascii: "\n")).count
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if process.terminationReason != .uncaughtSignal {
            throw TestSupportError("the migrator finished (status \(process.terminationStatus)) before it could be killed")
        }
        return lines
    }

    /// Waits for the end; the status and everything it printed.
    func wait() throws -> (Int32, String) {
        buffer.append(out.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: buffer, as: UTF8.self))
    }
}

final class IndexCLITests: XCTestCase {
    func testIndexCreatesOnceAndExplains() throws {
        let db = try TestServer.freshDatabase("cli_index")
        try db.collection("devices").insertOne(["_id": "a", "serial": "s1", "reading": ["tempF": 50.0]])
        let args = ["index", "-c", "devices", "--uri", try TestServer.uri(), "--db", db.name, "--schemas", MigrateCLITests.schemas]
        let r = try StrataRunner.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["schemaVersion_1", "strata_unknown_schemaVersion__v0-2", "strata_unusual_schemaVersion", "reading.tempC_1__v0-1",
                     "reading.tempC_1__v2", "product_1", "serial_1"] {
            XCTAssertTrue(r.stdout.contains(name), "\(name) in \(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("created"), r.stdout)
        let again = try StrataRunner.run(args + ["--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let doc = try ExtendedJSON.parseQueryDocument(again.stdout)
        let statuses = doc["indexes"]?.arrayValue?.compactMap { $0.documentValue?["status"]?.stringValue } ?? []
        XCTAssertEqual(statuses.count, 7)
        XCTAssertTrue(statuses.allSatisfy { $0 == "exists" }, "\(statuses)")
        // devices' tags are looked up in products at v0: an index on them cannot serve v0.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-index-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lens = try String(contentsOfFile: MigrateCLITests.schemas + "/devices.json", encoding: .utf8)
            .replacingOccurrences(of: "{ \"key\": { \"product\": 1 } }", with: "{ \"key\": { \"product\": 1 } }, { \"key\": { \"tags\": 1 } }")
        try lens.write(to: dir.appendingPathComponent("devices.json"), atomically: true, encoding: .utf8)
        let dry = try StrataRunner.run(["index", "-c", "devices", "--dry-run", "--schemas", dir.path])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("not indexed at older versions:\n  tags_1 at 0: 'tags' is looked up in 'products'"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("tags_1__v1-2"), dry.stdout)
        let help = try StrataRunner.run(["index", "--help"])
        for option in ["--collection", "--dry-run", "--json", "--uri", "--db", "--schemas"] {
            XCTAssertTrue(help.stdout.contains(option), "\(option) in --help")
        }
    }
}

final class HistogramWatchCLITests: XCTestCase {
    /// `--watch` off a terminal: one JSON object per update, the last one current.
    func testWatchPrintsUpdatesAsJSONLines() throws {
        for extra in [[String](), ["--poll", "--interval", "0.3"]] {
            let db = try TestServer.freshDatabase("cli_watch\(extra.isEmpty ? "" : "_poll")")
            let coll = db.collection("devices")
            try coll.insertMany((0..<20).map { ["_id": .int32(Int32($0)), "serial": .string("s\($0)")] })
            let p = Process()
            p.executableURL = StrataRunner.binary
            p.arguments = ["histogram", "-c", "devices", "--watch", "--watch-for", "4", "--uri", try TestServer.uri(), "--db", db.name,
                           "--schemas", MigrateCLITests.schemas] + extra
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: 1.5)
            try coll.insertMany((20..<25).map { ["_id": .int32(Int32($0)), "schemaVersion": 2] })
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            let lines = try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
            XCTAssertGreaterThanOrEqual(lines.count, 2, "\(extra)")
            XCTAssertEqual(lines.first?["total"]?.exactInt, 20)
            XCTAssertEqual(lines.last?["total"]?.exactInt, 25, "\(extra)")
            let versions = lines.last?["versions"]?.arrayValue?.compactMap(\.documentValue) ?? []
            XCTAssertEqual(versions.first { $0["version"]?.exactInt == 2 }?["count"]?.exactInt, 5)
            if extra.isEmpty {
                XCTAssertEqual(lines.last?["source"], "changeStream")
            } else {
                XCTAssertEqual(lines.last?["polling"], "asked for")
            }
        }
        let bad = try StrataRunner.run(["histogram", "-c", "devices", "--poll"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        let help = try StrataRunner.run(["histogram", "--help"])
        for option in ["--watch", "--interval", "--recount", "--poll", "--watch-for"] {
            XCTAssertTrue(help.stdout.contains(option), "\(option) in --help")
        }
    }
}

/// `strata migrate`, killed twice and restarted, while reports run against the collection
/// through the library with the mongod plans (version by version): every answer equals
/// the truth, before, during and after.
extension MigrateCLITests {
    func testAnswersStayRightWhileTheMigratorIsKilledAndRestarted() throws {
        let helper = self
        let (db, truth) = try helper.load("events", count: 1500, database: "cli_migrate_while_queries")
        _ = try db.collection("events_truth").insertMany(truth)
        let dir = TestServer.repositoryRoot.appendingPathComponent("queries")
        let specs = try ["events-by-kind.json", "events-users-per-region.json", "events-revenue-by-region.json", "events-currency.json",
                         "events-biggest.json", "events-one-user.json"].map { try QuerySpec.load(contentsOf: dir.appendingPathComponent($0)) }
        let expected = try specs.map { try db.collection("events_truth").aggregateAll($0.pipeline) }
        let client = StrataClient(database: db, schemasDirectory: URL(fileURLWithPath: MigrateCLITests.schemas),
                                  options: QueryRunner.Options(profile: .mongod))
        let stop = Locked(false)
        let outcome = Locked((right: 0, wrong: [String]()))
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            defer { done.signal() }
            while !stop.value {
                for (spec, want) in zip(specs, expected) {
                    let result = Result { try client.collection("events").aggregate(spec.pipeline) }
                    outcome.mutate { o in
                        switch result {
                        case .success(let got):
                            if let d = ResultComparison.difference(got, want, pipeline: spec.pipeline) { o.wrong.append("\(spec.file ?? "?"): \(d)") } else { o.right += 1 }
                        case .failure(let e): o.wrong.append("\(spec.file ?? "?"): \(e)")
                        }
                    }
                }
            }
        }
        reader.start()
        for _ in 1...2 {
            let p = try MigrateProcess.start(try helper.migrateArgs("events", db, ["--rate", "150", "--batch", "15"]))
            _ = try p.killAfter(batchLines: 12)
        }
        let r = try StrataRunner.run(try helper.migrateArgs("events", db, ["--rate", "200", "--batch", "20"]), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        stop.mutate { $0 = true }
        done.wait()
        // at least two rounds of the six reports overlapped the three migrator runs (the
        // partial-group plans sort their branches now: a round takes longer than it did)
        XCTAssertGreaterThanOrEqual(outcome.value.right, specs.count * 2, "queries ran while the migrator did")
        XCTAssert(outcome.value.wrong.isEmpty, outcome.value.wrong.prefix(5).joined(separator: "\n"))
        if let diff = try MigrateCLITests.difference(db.collection("events"), truth) { XCTFail(diff) }
    }
}
