import Foundation
import StrataMongo
import StrataTestSupport
import XCTest

/// Against a server that requires authentication (SCRAM-SHA-256): every subcommand works
/// with the password in `--uri`, and the password appears in nothing strata prints or
/// writes — outputs, `--json`, progress, bench reports, error messages.
final class CredentialsCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot
    static let password = "Pa55-w0rd-7c1e9d"

    func testThePasswordIsNeverPrintedOrWritten() throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("strata-auth-\(UUID())")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: storage) }
        // Users first, on an open server; then the same data with --auth.
        let open = try PrivateServer(storage: storage)
        let admin = MongoDatabase(pool: try MongoPool(uri: open.uri), name: "admin")
        _ = try admin.runCommand(["createUser": "reporter", "pwd": .string(Self.password), "roles": [["role": "root", "db": "admin"]]])
        // Least privilege: a reporting user with `read` on the database only.
        _ = try admin.runCommand(["createUser": "analyst", "pwd": "read-0nly", "roles": [["role": "read", "db": "secured"]]])
        open.stop()
        let server = try PrivateServer(arguments: ["--auth"], storage: storage)
        let uri = "mongodb://reporter:\(Self.password)@127.0.0.1:\(server.port)/?directConnection=true&authSource=admin"

        let work = try TempFolder()
        let dir = try Datasets.generate("events", count: 300)
        let mixed = dir.appendingPathComponent("events.mixed.jsonl").path
        let schemas = Self.root.appendingPathComponent("schemas").path
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json").path
        let common = ["--uri", uri, "--db", "secured"]
        let out = work.url.appendingPathComponent("reports").path
        let runs: [[String]] = [
            ["import", "-c", "events", mixed] + common,
            ["import", "-c", "events_truth", dir.appendingPathComponent("events.truth.jsonl").path] + common,
            ["histogram", "-c", "events", "--schemas", schemas, "--json"] + common,
            ["histogram", "-c", "events", "--schemas", schemas, "--watch", "--watch-for", "1"] + common,
            ["index", "-c", "events", "--schemas", schemas] + common,
            ["run", query, "--schemas", schemas, "--format", "table"] + common,
            ["explain", query, "--schemas", schemas] + common,
            ["verify", query, "--against", "{collection}_truth", "--schemas", schemas, "--json"] + common,
            ["migrate", "-c", "events", "--schemas", schemas, "--json", "--batch", "100"] + common,
            ["bench", "--size", "300", "--repetitions", "1", "--warmup", "0", "--ways", "ideal,planner", "--query", query,
             "--schemas", schemas, "--generator", Self.root.appendingPathComponent("Tests/Fixtures/datasets/gen.py").path,
             "--work-directory", work.url.appendingPathComponent("tmp").path,
             "--json", out + "/bench.json", "--markdown", out + "/bench.md"] + common,
            ["bench", "movement", "--seconds", "0.5", "--events", "200", "--devices", "100", "--schemas", schemas,
             "--queries", Self.root.appendingPathComponent("queries").path,
             "--generator", Self.root.appendingPathComponent("Tests/Fixtures/datasets/gen.py").path,
             "--work-directory", work.url.appendingPathComponent("tmp").path,
             "--json", out + "/movement.json", "--markdown", out + "/movement.md"] + common,
        ]
        for args in runs {
            let r = try StrataRunner.run(args, in: work.url, timeout: 300)
            XCTAssertEqual(r.status, 0, "strata \(args[0]) \(args[1]): \(r.stderr.suffix(2000))")
            XCTAssertFalse(r.stdout.contains(Self.password), "strata \(args[0]) \(args[1]) printed the password on stdout")
            XCTAssertFalse(r.stderr.contains(Self.password), "strata \(args[0]) \(args[1]) printed the password on stderr")
        }
        var written = 0
        for file in ["bench.json", "bench.md", "movement.json", "movement.md"] {
            let text = try String(contentsOfFile: out + "/" + file, encoding: .utf8)
            written += 1
            XCTAssertFalse(text.contains(Self.password), "\(file) holds the password")
        }
        XCTAssertEqual(written, 4)
        XCTAssert(try String(contentsOfFile: out + "/bench.md", encoding: .utf8).contains("reporter:***@"), "the command line is kept, redacted")

        // Queries need only `read`: run, explain, verify and histogram work as the
        // read-only user; writes (an import) are refused by the server (exit 1).
        let reader = ["--uri", "mongodb://analyst:read-0nly@127.0.0.1:\(server.port)/?directConnection=true&authSource=admin", "--db", "secured"]
        for args in [["run", query, "--schemas", schemas], ["explain", query, "--schemas", schemas],
                     ["verify", query, "--against", "{collection}_truth", "--schemas", schemas],
                     ["histogram", "-c", "events", "--schemas", schemas]] {
            let r = try StrataRunner.run(args + reader, in: work.url)
            XCTAssertEqual(r.status, 0, "read-only \(args[0]): \(r.stderr)")
        }
        for args in [["import", "-c", "events_copy", mixed]] {
            let r = try StrataRunner.run(args + reader, in: work.url)
            XCTAssertEqual(r.status, 1, "read-only \(args[0]): \(r.stderr)")
            XCTAssert(r.stderr.contains("not authorized"), "read-only \(args[0]): \(r.stderr)")
        }

        // A wrong password: a clear message, exit 1, and neither password in it.
        let wrong = "Wr0ng-\(Self.password)"
        let bad = try StrataRunner.run(["run", query, "--schemas", schemas, "--uri",
                                        "mongodb://reporter:\(wrong)@127.0.0.1:\(server.port)/?directConnection=true&authSource=admin",
                                        "--db", "secured"], in: work.url)
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssert(bad.stderr.lowercased().contains("auth"), bad.stderr)
        XCTAssertFalse(bad.stderr.contains(wrong) || bad.stdout.contains(wrong), bad.stderr)
    }

    func testRedactingCredentials() {
        XCTAssertEqual(MongoPool.redactingCredentials(in: "strata run q.json --uri mongodb://u:p%40ss@h:1/?x=1 --db d"),
                       "strata run q.json --uri mongodb://u:***@h:1/?x=1 --db d")
        XCTAssertEqual(MongoPool.redactingCredentials(in: "--uri=mongodb+srv://admin:secret@cluster0.example.net/db"),
                       "--uri=mongodb+srv://admin:***@cluster0.example.net/db")
        XCTAssertEqual(MongoPool.redactingCredentials(in: "mongodb://onlyuser@h,mongodb://a:b@c"), "mongodb://onlyuser@h,mongodb://a:***@c")
        XCTAssertEqual(MongoPool.redactingCredentials(in: "http://a:b@c and mongodb://h:27017"), "http://a:b@c and mongodb://h:27017")
    }
}
