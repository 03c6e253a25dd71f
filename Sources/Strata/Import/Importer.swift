import Foundation
import StrataBSON
import StrataEvaluator
import StrataMongo

/// Loads Extended JSON lines into a collection with batched, ordered bulk inserts.
///
/// All or nothing for bad input: every line is parsed first (a pass that
/// inserts nothing and holds no documents), so a malformed line — reported as
/// `.badInput` at `FILE:LINE` with libbson's message — leaves the collection
/// untouched (and not dropped). Only then are the lines parsed again and
/// inserted, `batchSize` documents per `insertMany`. A write the *server*
/// refuses (a duplicate `_id`, say) stops the import at that document: the
/// error names its line, and the documents before it stay inserted.
public enum Importer {
    public static let defaultBatchSize = 1000

    /// Reported after each batch (and every 10,000 lines while checking).
    public struct Progress: Sendable {
        public enum Phase: Sendable { case checking, inserting }
        public var phase: Phase
        /// Documents checked or inserted so far.
        public var done: Int
        /// Documents in the file, once the check has counted them.
        public var total: Int?
    }

    public struct Summary: Sendable {
        public var documents: Int
        /// Time spent checking the file.
        public var checkSeconds: Double
        /// Time spent inserting (dropping included).
        public var insertSeconds: Double
        public var seconds: Double { checkSeconds + insertSeconds }
        public var documentsPerSecond: Double { seconds > 0 ? Double(documents) / seconds : 0 }
    }

    /// Imports a `.jsonl` file and returns the number of documents inserted.
    @discardableResult
    public static func importJSONL(_ url: URL, into collection: MongoCollection,
                                   batchSize: Int = defaultBatchSize) throws -> Int {
        try importLines(JSONLines(contentsOf: url), into: collection, batchSize: batchSize).documents
    }

    /// Checks every line, optionally drops the collection, then inserts in batches.
    public static func importLines(_ lines: JSONLines, into collection: MongoCollection,
                                   batchSize: Int = defaultBatchSize, dropFirst: Bool = false,
                                   progress: ((Progress) -> Void)? = nil) throws -> Summary {
        guard batchSize >= 1 else { throw StrataError.badInput("the batch size must be at least 1, not \(batchSize)") }
        let clock = ContinuousClock()
        let start = clock.now
        let count = try check(lines, progress: progress)
        let checkSeconds = seconds(clock.now - start)
        var summary = try insert(lines, into: collection, batchSize: batchSize, dropFirst: dropFirst,
                                 expected: count, progress: progress)
        summary.checkSeconds = checkSeconds
        return summary
    }

    /// Parses every line, inserting nothing; returns the number of documents.
    /// A malformed line throws `.badInput` at `FILE:LINE`.
    public static func check(_ lines: JSONLines, progress: ((Progress) -> Void)? = nil) throws -> Int {
        var checked = 0
        try lines.forEachDocument { _, _ in
            checked += 1
            if checked % 10_000 == 0 { progress?(Progress(phase: .checking, done: checked, total: nil)) }
        }
        return checked
    }

    /// Optionally drops the collection, then inserts every document, `batchSize`
    /// per ordered `insertMany`. Call `check` first: a malformed line found here
    /// would stop the import half-way.
    public static func insert(_ lines: JSONLines, into collection: MongoCollection,
                              batchSize: Int = defaultBatchSize, dropFirst: Bool = false, expected: Int? = nil,
                              progress: ((Progress) -> Void)? = nil) throws -> Summary {
        guard batchSize >= 1 else { throw StrataError.badInput("the batch size must be at least 1, not \(batchSize)") }
        let clock = ContinuousClock()
        let insertStart = clock.now
        if dropFirst { try collection.drop() }
        var inserted = 0
        var batch: [Document] = []
        var batchLines: [Int] = []
        batch.reserveCapacity(batchSize)
        batchLines.reserveCapacity(batchSize)
        func flush() throws {
            guard !batch.isEmpty else { return }
            do {
                try collection.insertMany(batch, ordered: true)
            } catch let e as MongoError {
                throw located(e, lines: batchLines, name: lines.name, insertedBefore: inserted)
            }
            inserted += batch.count
            batch.removeAll(keepingCapacity: true)
            batchLines.removeAll(keepingCapacity: true)
            progress?(Progress(phase: .inserting, done: inserted, total: expected))
        }
        try lines.forEachDocument { line, document in
            batch.append(document)
            batchLines.append(line)
            if batch.count == batchSize { try flush() }
        }
        try flush()
        return Summary(documents: inserted, checkSeconds: 0, insertSeconds: seconds(clock.now - insertStart))
    }

    /// The server's write error, naming the line of the document it refused.
    static func located(_ e: MongoError, lines: [Int], name: String, insertedBefore: Int) -> MongoError {
        guard e.kind == .write,
              let first = e.reply?["writeErrors"]?.arrayValue?.first?.documentValue,
              let index = first["index"]?.exactInt, index >= 0, Int(index) < lines.count else { return e }
        let before = insertedBefore + Int(index)
        return MongoError(kind: e.kind, code: e.code, codeName: e.codeName,
                          message: "\(name):\(lines[Int(index)]): the server refused the document: \(e.message)"
                              + " (\(before) documents before it were inserted)",
                          labels: e.labels, reply: e.reply)
    }

    /// A duration in seconds.
    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
