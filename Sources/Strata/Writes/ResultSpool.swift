import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// The results of a writing query, spooled in order into a temporary collection of the
/// target's database while the read part runs, so that nothing reaches the target before
/// the last result is known (and checked). Each is wrapped as
/// `{_id: <new ObjectId>, n: <its place>, d: <the result>}`: results without an `_id`, or
/// with the same `_id` as another, are kept as they are, in order.
final class ResultSpool {
    let temporary: MongoCollection
    private var batch = ResultBatch<(key: MergeKey?, wrapped: Document)>()
    private var sequence: Int64 = 0

    init(target: WriteTarget) {
        temporary = target.database.collection(target.temporaryName("merge"))
    }

    /// The stages that turn the spool back into the results, in order.
    static let unwrapping: [BSON] = [["$sort": ["n": 1]], ["$replaceWith": "$d"]]

    /// Adds one result (with its `on` key); returns the keys of a batch written to the
    /// spool, nil while the batch fills.
    func add(_ doc: Document, key: MergeKey?) throws -> [MergeKey?]? {
        sequence += 1
        let wrapped: Document = ["_id": .objectId(ObjectIdGenerator.next()), "n": .int64(sequence), "d": .document(doc)]
        return batch.add((key, wrapped), size: doc.bsonSize + 40) ? try flush() : nil
    }

    /// Writes what is left of the batch; returns its keys.
    func flush() throws -> [MergeKey?] {
        let items = batch.take()
        guard !items.isEmpty else { return [] }
        try temporary.insertMany(items.map(\.wrapped), ordered: true, validate: false)
        return items.map(\.key)
    }

    /// Every spooled result, in order (after the last `flush`).
    func results(_ each: (Document) throws -> Void) throws {
        let cursor = try temporary.find([:], options: FindOptions(sort: ["n": 1]))
        while let wrapped = try cursor.nextDocument() {
            guard case .document(let d)? = wrapped["d"] else { continue }
            try each(d)
        }
    }

    func drop() {
        try? temporary.drop()
    }
}
