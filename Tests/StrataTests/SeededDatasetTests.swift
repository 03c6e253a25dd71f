import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
@testable import StrataTesting
import XCTest

/// The shared datasets' truths (every document at the newest version) seeded mid-migration
/// — events and devices by `strata seed`, users by the library with a down function for
/// its password hash — then every answering catalog query compared with its answer on the
/// migrated copy (StrataTesting's comparison), and the collection migrated back to exactly
/// the documents seeded.
///
/// Users: about 12% of the truth's documents hold twitter contacts, which versions 0 and 1
/// cannot hold (their `phonenumber` is one value; the wrap step's undo is lossy), so users
/// is seeded with `unrepresentable: .storeNewer` (`strata seed --unrepresentable newer`):
/// those documents are stored at version 2 instead of their drawn 0 or 1.
final class SeededDatasetTests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
    static let sizes = ["users": 800, "devices": 600, "events": 1000]

    /// The test server: STRATA_TEST_URI when set (as `make test` does), else the embedded one.
    static let server = Result { try StrataTestServer.start() }

    static func truthFile(_ dataset: String) throws -> URL {
        try Datasets.generate(dataset, count: sizes[dataset]!).appendingPathComponent("\(dataset).truth.jsonl")
    }

    /// Loads a joined dataset as a collection mid-migration (`name`, the generator's mix) and
    /// its migrated copy (`name_truth`), for the catalog's joins.
    static func loadJoined(_ name: String, into fixture: MidMigrationFixture) throws {
        let dir = try Datasets.generate(name, count: sizes[name]!)
        try fixture.insert(try Datasets.readJSONL(dir.appendingPathComponent("\(name).mixed.jsonl")), into: name)
        try fixture.insert(try Datasets.readJSONL(dir.appendingPathComponent("\(name).truth.jsonl")), into: name + "_truth")
    }

    /// The catalog's answering queries over `dataset`, named by file.
    static func catalog(_ dataset: String) throws -> [(name: String, pipeline: [BSON])] {
        try DifferentialQueryTests.answeringQueries(for: dataset).map { (name: $0.0, pipeline: $0.1.pipeline) }
    }

    static func parseMix(_ text: String) -> [Double] { text.split(separator: ",").map { Double($0)! } }

    // MARK: CRC-32 preimages (pure)

    func testCRC32PreimageHashesBack() throws {
        XCTAssertEqual(CRC32Preimage.rank, 32, "48 a/b positions span every CRC-32")
        var random = SplitMix64(state: 7)
        let prefixes = ["", "AnnLee", "ZoëMüller", "李小龍", String(repeating: "x", count: 300)]
        for i in 0..<500 {
            let prefix = Array(prefixes[i % prefixes.count].utf8)
            let crc = UInt32(truncatingIfNeeded: random.next())
            let password = try CRC32Preimage.password(prefix: prefix, crc: crc)
            XCTAssertEqual(password.count, CRC32Preimage.length)
            XCTAssert(password.allSatisfy { $0 == "a" || $0 == "b" }, password)
            XCTAssertEqual(CRC32.checksum(prefix + Array(password.utf8)), crc, "prefix \(prefixes[i % prefixes.count]), crc \(crc)")
        }
        for crc: UInt32 in [0, 0xFFFF_FFFF, 0xDEAD_BEEF] {
            XCTAssertEqual(CRC32.checksum(Array(try CRC32Preimage.password(prefix: [], crc: crc).utf8)), crc)
        }
    }

    /// Every users truth document without twitter contacts goes down to version 0 with the
    /// down function and comes back up exactly (the lens alone, no server).
    func testUsersDownFunctionUndoesTheHash() throws {
        let lens = try Lens.load(collection: "users", schemasDirectory: Self.schemas)
        let context = LensContext(functions: CRC32Preimage.functions)
        var checked = 0
        for doc in try Datasets.readJSONL(try Self.truthFile("users")).prefix(300) {
            let contacts = doc["contacts"]?.arrayValue ?? []
            guard contacts.count <= 1, contacts.allSatisfy({ $0.documentValue?["method"] == "phone" }) else { continue }
            for version in 0...2 {
                let down = try lens.downgrade(doc, to: version, context: context)
                if version < 2 {
                    guard case .string(let plain)? = down["password"] else { return XCTFail("no password in \(down)") }
                    XCTAssertEqual(plain.count, CRC32Preimage.length)
                }
                let back = try lens.upgrade(down, context: context)
                XCTAssertNil(BSONComparison().difference(back, doc), "\(doc["_id"]!) via v\(version)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 200)
    }

    // MARK: StrataTesting's own behaviour

    func testMixesFromTheVersionCount() {
        XCTAssertEqual(MidMigrationFixture.mixes(versionCount: 4), [[4, 3, 2, 1], [1, 0, 0, 0], [1, 1, 0, 1], [0, 0, 0, 1]])
        XCTAssertEqual(MidMigrationFixture.mixes(versionCount: 3), [[3, 2, 1], [1, 0, 0], [1, 0, 1], [0, 0, 1]])
        XCTAssertEqual(MidMigrationFixture.mixes(versionCount: 2), [[2, 1], [1, 0], [0, 1]])
        XCTAssertEqual(MidMigrationFixture.mixes(versionCount: 1), [[1]])
    }

    /// An embedded server of its own (a virtualenv given beats STRATA_TEST_URI): started,
    /// answering, stopped; a URI given is attached to and left running.
    func testTheTestServerStartsAndStops() throws {
        let venv = TestServer.repositoryRoot.appendingPathComponent(".venv")
        let server = try StrataTestServer.start(venv: venv)
        XCTAssertTrue(server.startedHere)
        let db = try server.freshDatabase("strata_testing_server")
        try db.collection("c").insertMany([["_id": 1]])
        XCTAssertEqual(try db.collection("c").countDocuments(), 1)
        let port = try XCTUnwrap(Int(server.uri.split(separator: ":").last!.prefix { $0.isNumber }))
        server.stop()
        server.stop()
        XCTAssertFalse(StrataTestServer.answers(port: port), "stopped")
        let attached = try StrataTestServer.start(uri: try TestServer.uri())
        XCTAssertFalse(attached.startedHere)
        attached.stop()
        XCTAssertNoThrow(try MongoDatabase(pool: try attached.pool(), name: "admin").runCommand(["ping": 1]), "left running")
        XCTAssertThrowsError(try StrataTestServer.start(venv: URL(fileURLWithPath: "/nonexistent"))) {
            XCTAssert("\($0)".contains("/nonexistent/bin/secantusd-py"), "\($0)")
        }
    }

    /// A migrated copy that lost a document: the error names the pipeline, mix, seed and difference.
    func testADifferenceNamesThePipelineMixAndSeed() throws {
        let server = try Self.server.get()
        let db = try server.freshDatabase("strata_test_seeded_difference")
        let docs = Array(try MidMigrationFixture.readJSONLines(try Self.truthFile("events")).prefix(200))
        let fixture = try MidMigrationFixture(database: db, schemasDirectory: Self.schemas, collection: "events", documents: docs)
        XCTAssertEqual(try db.collection("events_migrated").countDocuments(), 200)
        let seeded = try fixture.seed(mix: [40, 30, 20, 10], seed: 3)
        XCTAssertEqual(seeded.summary?.documents, 200)
        XCTAssertEqual(seeded.summary?.perVersion.count, 4)
        let pipeline: [BSON] = [["$group": ["_id": "$kind", "n": ["$sum": 1]]], ["$sort": ["_id": 1]]]
        try seeded.assertSameAnswer(pipeline)
        _ = try db.runCommand(["delete": "events_migrated", "deletes": [["q": ["_id": docs[0]["_id"]!], "limit": 1]]])
        XCTAssertThrowsError(try seeded.assertSameAnswer(pipeline, name: "kinds")) { error in
            let text = "\(error)"
            XCTAssert(error is AnswersDiffer, text)
            for part in ["kinds on events", "mix 40,30,20,10", "seed 3", #""$group""#, "#"] {
                XCTAssert(text.contains(part), "'\(part)' not in:\n\(text)")
            }
        }
        XCTAssertThrowsError(try seeded.assertStoredDocumentsEqualInput())  // the seeded collection is not migrated
        XCTAssertThrowsError(try MidMigrationFixture(database: db, schemasDirectory: Self.schemas, collection: "events",
                                                     documents: [docs[0], Document(docs[1].filter { $0.key != "_id" }.map { ($0.key, $0.value) })])) {
            XCTAssert("\($0)".contains("document #2 has no _id"), "\($0)")
        }
    }

    // MARK: the datasets seeded by the CLI

    /// `strata seed` at each mix, the catalog against the migrated copy, `strata migrate`,
    /// and the collection then exactly the documents given.
    func checkSeededByTheCLI(_ dataset: String, mixes: [String], joined: [String] = [], products: Bool = false) throws {
        let server = try Self.server.get()
        let db = try server.freshDatabase("strata_test_seeded_cli_\(dataset)")
        let truth = try Self.truthFile(dataset)
        let fixture = try MidMigrationFixture(database: db, schemasDirectory: Self.schemas, collection: dataset, jsonLines: truth,
                                              migratedCopies: Dictionary(uniqueKeysWithValues: joined.map { ($0, $0 + "_truth") }))
        if products {
            try fixture.insert(try Datasets.readJSONL(truth.deletingLastPathComponent().appendingPathComponent("products.jsonl")), into: "products")
        }
        for name in joined { try Self.loadJoined(name, into: fixture) }
        let queries = try Self.catalog(dataset)
        XCTAssertGreaterThan(queries.count, 15)
        let common = ["-c", dataset, "--uri", server.uri, "--db", db.name, "--schemas", Self.schemas.path]
        var differences: [AnswersDiffer.Difference] = []
        for (i, mixText) in mixes.enumerated() {
            let mix = Self.parseMix(mixText), seed = UInt64(11 + i)
            let started = Date()
            let r = try runStrata(["seed"] + common + [truth.path, "--mix", mixText, "--seed", String(seed), "--drop", "--json"])
            XCTAssertEqual(r.status, 0, "strata seed --mix \(mixText): \(r.stderr)")
            guard r.status == 0 else { continue }
            let summary = try ExtendedJSON.parseDocument(r.stdout)
            XCTAssertEqual(summary["documents"]?.exactInt, Int64(fixture.documents.count))
            // The CLI stores what the library would, in the same order.
            let expected = try Seeder(collection: db.collection(dataset), lens: fixture.lens,
                                      options: .init(mix: mix, seed: seed)).seeded(fixture.documents).documents
            let stored = try db.collection(dataset).find().all()
            XCTAssertEqual(stored.count, expected.count)
            if let d = zip(stored, expected).lazy.compactMap({ BSONComparison().difference($0, $1) }).first {
                XCTFail("mix \(mixText): the CLI's seeding differs from Seeder's: \(d)")
            }
            for (v, share) in mix.enumerated() where share == 0 {
                XCTAssertNil(summary["perVersion"]?.documentValue?["\(v)"], "mix \(mixText): nothing at v\(v)")
            }

            let seeded = try fixture.seededElsewhere(mix: mix, seed: seed)
            for (name, pipeline) in queries {
                if let oracle = Self.secantusDivergences[name] {
                    if let d = ResultComparison.difference(try seeded.strataAnswer(pipeline), oracle(fixture.documents), pipeline: pipeline) {
                        XCTFail("\(name) at mix \(mixText), seed \(seed): strata's answer is not mongod's: \(d)")
                    }
                    continue
                }
                if let d = try seeded.difference(pipeline, name: name) { differences.append(d) }
            }
            let queried = Date()
            let m = try runStrata(["migrate"] + common + ["--batch", "500"], timeout: 180)
            XCTAssertEqual(m.status, 0, "strata migrate after --mix \(mixText): \(m.stderr)")
            XCTAssertNoThrow(try seeded.assertStoredDocumentsEqualInput())
            print("SeededDatasetTests: \(dataset) --mix \(mixText): seeded \(String(format: "%.1f", queried.timeIntervalSince(started))) s incl. \(queries.count) queries, migrated \(String(format: "%.1f", Date().timeIntervalSince(queried))) s")
        }
        if !differences.isEmpty { throw AnswersDiffer(differences: differences) }
    }

    /// Catalog queries SecantusDB answers unlike mongod over these documents, with mongod's
    /// answer computed here instead. `$bucketAuto` (events-amount-quintiles: 5 buckets of the
    /// purchases' amounts): mongod fills each bucket with round(n / 5) values (then the values
    /// equal to its last), the last bucket taking the rest, and a bucket's `max` is the next
    /// bucket's `min` (the last's, its largest value); SecantusDB's buckets end at their own
    /// largest value and their sizes differ for some n (here 1000 events: 100 purchases with
    /// repeated amounts). strata follows mongod; DifferentialQueryTests' sizes happen to agree.
    static let secantusDivergences: [String: @Sendable ([Document]) -> [Document]] = [
        "events-amount-quintiles.json": { docs in
            let values = docs.compactMap { $0.value(atPath: "amount.value")?.doubleValue }.filter { $0 > 0 }.sorted()
            let approx = Int((Double(values.count) / 5).rounded())
            var buckets: [[Double]] = []
            var i = 0
            while i < values.count {
                var b: [Double] = []
                if buckets.count == 4 {
                    b = Array(values[i...])
                } else {
                    b = Array(values[i..<min(i + approx, values.count)])
                    while i + b.count < values.count && values[i + b.count] == b.last! { b.append(values[i + b.count]) }
                }
                i += b.count
                buckets.append(b)
            }
            return buckets.enumerated().map { k, b in
                let max = k + 1 < buckets.count ? buckets[k + 1][0] : b.last!
                return ["_id": ["min": .double(b[0]), "max": .double(max)], "n": .int32(Int32(b.count))]
            }
        },
    ]

    func testEventsSeededByTheCLIAnswerAsMigrated() throws {
        try checkSeededByTheCLI("events", mixes: ["40,30,20,10", "100,0,0,0", "0,50,0,50"], joined: ["users"])
    }

    func testDevicesSeededByTheCLIAnswerAsMigrated() throws {
        try checkSeededByTheCLI("devices", mixes: ["50,30,20", "100,0,0", "50,0,50"], products: true)
    }

    // MARK: users, seeded by the library with a down function

    func testUsersSeededByTheLibraryAnswerAsMigrated() throws {
        let server = try Self.server.get()
        let db = try server.freshDatabase("strata_test_seeded_lib_users")
        let fixture = try MidMigrationFixture(database: db, schemasDirectory: Self.schemas, collection: "users",
                                              jsonLines: try Self.truthFile("users"), functions: CRC32Preimage.functions,
                                              unrepresentable: .storeNewer, migratedCopies: ["events": "events_truth"])
        try Self.loadJoined("events", into: fixture)
        let queries = try Self.catalog("users")
        XCTAssertGreaterThan(queries.count, 20)
        let twitter = fixture.documents.filter { ($0["contacts"]?.arrayValue ?? []).contains { $0.documentValue?["method"] == "twitter" } }.count
        XCTAssertGreaterThan(twitter, fixture.documents.count / 20)
        var differences: [AnswersDiffer.Difference] = []
        for (i, mix) in [[40.0, 30, 20, 10], [100, 0, 0, 0], [0, 50, 0, 50]].enumerated() {
            let started = Date()
            let seeded = try fixture.seed(mix: mix, seed: UInt64(21 + i))
            let summary = try XCTUnwrap(seeded.summary)
            XCTAssertEqual(summary.documents, fixture.documents.count)
            if mix[0] + mix[1] > 0 {
                // Documents with more than a phone contact cannot be at v0 or v1.
                XCTAssertGreaterThan(summary.storedNewer.values.reduce(0, +), 0, "mix \(mix)")
            }
            if mix == [100, 0, 0, 0] {
                XCTAssertEqual(Set(summary.perVersion.keys), [0, 2], "all at v0 but those stored newer: \(summary.perVersion)")
                XCTAssertEqual(summary.storedNewer[0], summary.perVersion[2])
            }
            for (name, pipeline) in queries {
                if let d = try seeded.difference(pipeline, name: name) { differences.append(d) }
            }
            let queried = Date()
            let migration = try Migrator(collection: db.collection("users"), lens: fixture.lens,
                                         options: .init(batchSize: 400, functions: CRC32Preimage.functions)).run()
            XCTAssertEqual(migration.failures.count, 0, "\(migration.failures.prefix(3).map(\.reason))")
            XCTAssertNoThrow(try seeded.assertStoredDocumentsEqualInput())
            print("SeededDatasetTests: users mix \(mix): seeded \(String(format: "%.1f", queried.timeIntervalSince(started))) s incl. \(queries.count) queries, migrated \(String(format: "%.1f", Date().timeIntervalSince(queried))) s")
        }
        if !differences.isEmpty { throw AnswersDiffer(differences: differences) }
    }

    // MARK: the mixes StrataTesting chooses

    /// Devices through `assertSameAnswers` at the default mixes of a three-version lens, two
    /// seeds each (a few queries over a few documents: the catalog runs above).
    func testDevicesAtTheDefaultMixes() throws {
        let server = try Self.server.get()
        let db = try server.freshDatabase("strata_test_seeded_default_devices")
        let truth = try Self.truthFile("devices")
        let fixture = try MidMigrationFixture(database: db, schemasDirectory: Self.schemas, collection: "devices",
                                              documents: Array(try Datasets.readJSONL(truth).prefix(300)))
        try fixture.insert(try Datasets.readJSONL(truth.deletingLastPathComponent().appendingPathComponent("products.jsonl")), into: "products")
        let some = ["devices-above-30c.json", "devices-firmware-versions.json", "devices-tag-counts.json", "devices-temp-by-product.json"]
        let queries = try Self.catalog("devices").filter { some.contains($0.name) }
        XCTAssertEqual(queries.count, some.count)
        try fixture.assertSameAnswers(queries, seeds: [5, 6])
    }
}

/// Runs the built `strata` ($STRATA_BIN, else .build/debug/strata), capturing its output.
func runStrata(_ args: [String], timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let binary = ProcessInfo.processInfo.environment["STRATA_BIN"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
        ?? TestServer.repositoryRoot.appendingPathComponent(".build/debug/strata")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw TestSupportError("no strata binary at \(binary.path): run `swift build --product strata` or set STRATA_BIN")
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strata-seeded-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["STRATA_URI"] = nil
    env["STRATA_DB"] = nil
    p.environment = env
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        p.terminate()
        p.waitUntilExit()
        throw TestSupportError("strata \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
    }
    p.waitUntilExit()
    try out.close()
    try err.close()
    return (p.terminationStatus, try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8))
}
