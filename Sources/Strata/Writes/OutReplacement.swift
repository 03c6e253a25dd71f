import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `$out` as mongod does it: the results go into a temporary collection of the target's
/// database, created with the target's options (validator, collation) and indexes before
/// the first insert, which then replaces the target in one `renameCollection` with
/// `dropTarget`. So the target keeps its indexes, a result its indexes refuse (a
/// duplicate `_id`, a unique key) fails the stage, and a failure at any point leaves the
/// target as it was.
///
/// Not the server's own `$out`: SecantusDB 0.7.0b3's drops the target first (its
/// indexes are lost) and then inserts (a failure midway leaves it dropped or partly
/// written).
final class OutReplacement: ResultSink {
    let target: WriteTarget
    let output: OutputStage
    let temporary: MongoCollection
    private var batch = ResultBatch<Document>()
    private var summary: WriteSummary

    /// Creates the temporary collection (throws for a target that is a view).
    init(target: WriteTarget, output: OutputStage) throws {
        self.target = target
        self.output = output
        self.temporary = target.database.collection(target.temporaryName("out"))
        summary = WriteSummary(stage: .out, database: target.database.name, collection: target.collection.name)
        summary.version = target.lens?.newest
        try prepare()
    }

    /// Options and indexes the replacement must have before anything is inserted.
    static let copiedOptions = ["validator", "validationLevel", "validationAction", "collation"]

    private func prepare() throws {
        let info = try target.database.collectionInfo(target.collection.name)
        if let type = info?["type"]?.stringValue, type != "collection" {
            throw StrataError.badInput("$out cannot replace '\(target.namespace)', which is a \(type)", at: output.location)
        }
        let options = info?["options"]?.documentValue ?? [:]
        if options["capped"] == .bool(true) {
            throw StrataError.badInput("$out cannot replace '\(target.namespace)', a capped collection", at: output.location)
        }
        try target.database.createCollection(temporary.name,
                                             options: Document(options.filter { Self.copiedOptions.contains($0.key) }.map { ($0.key, $0.value) }))
        let indexes = try target.collection.listIndexes().filter { $0["name"] != .string("_id_") }.map { spec in
            Document(spec.filter { !["v", "ns", "background"].contains($0.key) }.map { ($0.key, $0.value) })
        }
        try temporary.createIndexes(indexes)
    }

    func add(_ doc: Document) throws {
        let d = target.stamped(doc)
        if batch.add(d, size: d.bsonSize) { try flush() }
    }

    private func flush() throws {
        let docs = batch.take()
        guard !docs.isEmpty else { return }
        try temporary.insertMany(docs, ordered: true, validate: false)
        summary.documents += docs.count
        summary.inserted += docs.count
    }

    func finish() throws -> WriteSummary {
        try flush()
        if try target.database.collectionInfo(target.collection.name) != nil {
            summary.previousDocuments = try target.collection.countDocuments()
        }
        try target.database.renameCollection(temporary.name, to: target.collection.name, dropTarget: true)
        return summary
    }

    func cleanUp() {
        try? temporary.drop()
    }
}
