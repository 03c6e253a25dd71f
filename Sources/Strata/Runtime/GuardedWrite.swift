import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import Synchronization

/// The runtime's optimistic concurrency guard: a write replaces a stored document
/// only if it is still exactly what the writer read.
///
/// The guard travels *inside* an update pipeline, not in the query:
///
///     {q: {_id: {$eq: <id>}},
///      u: [{$replaceWith: {$cond: [<unchanged>, {$literal: <replacement>}, "$$ROOT"]}}]}
///
/// with `<unchanged>` = `$$ROOT` equal to the document as read *and* `$bsonSize($$ROOT)`
/// equal to its size as read. The write is atomic per document on the server; when
/// someone changed the document since it was read the pipeline keeps it as it is and
/// the server reports it not modified. No revision field is added to documents: the
/// stored document itself is the token, so documents keep exactly their schema.
///
/// Why not `{_id: id, $expr: ...}` as the query: SecantusDB answers `{_id: X}` from its
/// `_id` index but plans any `$expr` filter as a collection scan (0.45 s per statement
/// on 20k documents, against ~1 ms here). The `$bsonSize` term makes the check exact
/// for number types too: aggregation equality says `1 == 1.0 == NumberLong(1)`, but
/// the encoded sizes of int32, int64 and double differ. (SecantusDB's `$$ROOT` equality
/// ignores key order; mongod's does not. Either way a reordering is harmless.)
enum GuardedWrite {
    /// An aggregation expression, true iff the current document is `expected`.
    static func unchanged(_ expected: Document) -> BSON {
        ["$and": [
            ["$eq": ["$$ROOT", ["$literal": .document(expected)]]],
            ["$eq": [["$bsonSize": "$$ROOT"], .int64(Int64(expected.bsonSize))]],
        ]]
    }

    /// `{_id: id}`: the plain form for scalars (the shape SecantusDB's `_id` lookup
    /// recognises), `{_id: {$eq: id}}` where the plain form would mean something else
    /// (a regex matches, a document could hold operators).
    static func idFilter(_ id: BSON) -> Document {
        switch id {
        case .document, .regex, .array: return ["_id": ["$eq": id]]
        default: return ["_id": id]
        }
    }

    /// An `update` statement replacing the document `expected` by `replacement` (same `_id`)
    /// if it is unchanged.
    static func replaceStatement(expected: Document, replacement: Document) -> Document {
        ["q": .document(idFilter(expected["_id"] ?? .null)),
         "u": [["$replaceWith": ["$cond": [unchanged(expected), ["$literal": .document(replacement)], "$$ROOT"]]]],
         "upsert": false, "multi": false]
    }

    /// An `update` statement emptying the document `expected` to `{_id}` if it is unchanged:
    /// the first half of a guarded delete inside a transaction (the second deletes `{_id}`),
    /// so that the guard needs no `$expr` query.
    static func tombstoneStatement(expected: Document) -> Document {
        let id = expected["_id"] ?? .null
        return ["q": .document(idFilter(id)),
                "u": [["$replaceWith": ["$cond": [unchanged(expected), ["$literal": ["_id": id]], "$$ROOT"]]]],
                "upsert": false, "multi": false]
    }

    /// A delete filter matching `expected` only if unchanged (an `$expr` query: used
    /// where no transaction is available, on servers that then plan it on `_id`).
    static func deleteFilter(expected: Document) -> Document {
        var filter = idFilter(expected["_id"] ?? .null)
        filter["$expr"] = unchanged(expected)
        return filter
    }

    /// Statements grouped so that one `update` command stays well under the server's
    /// 48 MB message limit (and 100,000 statements).
    static func chunks(_ statements: [Document], maxBytes: Int = 8 << 20, maxCount: Int = 10_000) -> [[Document]] {
        var out: [[Document]] = []
        var current: [Document] = []
        var bytes = 0
        for s in statements {
            let size = s.bsonSize
            if !current.isEmpty && (bytes + size > maxBytes || current.count >= maxCount) {
                out.append(current)
                current = []
                bytes = 0
            }
            current.append(s)
            bytes += size
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

extension GuardedWrite {
    /// True when `a` and `b` are the same BSON, doubles compared bit for bit (so NaN
    /// equals NaN, and -0.0 differs from 0.0).
    static func identical(_ a: Document, _ b: Document) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x.key != y.key || !identical(x.value, y.value) { return false }
        return true
    }

    static func identical(_ a: BSON, _ b: BSON) -> Bool {
        switch (a, b) {
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.document(let x), .document(let y)): return identical(x, y)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        default: return a == b
        }
    }

    /// Whether the document holds a NaN, which SecantusDB's `$eq` says differs from itself
    /// (mongod's says equal): the pipeline guard can never pass for such a document there.
    static func containsNaN(_ v: BSON) -> Bool {
        switch v {
        case .double(let d): return d.isNaN
        case .document(let d): return d.values.contains(where: containsNaN)
        case .array(let a): return a.contains(where: containsNaN)
        default: return false
        }
    }

    /// The guard for a document the pipeline guard cannot compare (a NaN on SecantusDB):
    /// inside a transaction, read it, compare it bit for bit in Swift, replace it. A
    /// concurrent write conflicts with the transaction (mongod retries it, and the re-read
    /// sees the change). Returns whether it replaced the document.
    static func replaceInTransaction(_ collection: MongoCollection, expected: Document, replacement: Document) throws -> Bool {
        let name = collection.name
        let id = expected["_id"] ?? .null
        return try collection.database.withTransaction { txn in
            guard let current = try txn.find(name, idFilter(id), limit: 1).first, identical(current, expected) else { return false }
            return try txn.update(name, [["q": .document(idFilter(id)), "u": .document(replacement)]]).modified == 1
        }
    }
}

/// `_id` equality as the server's `_id` index sees it (1 == 1.0 == NumberLong(1)).
func sameKey(_ a: BSON?, _ b: BSON?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?): return GroupKey(x) == GroupKey(y)
    default: return false
    }
}

/// Writes `version` into the version field: in place, or right after `_id`.
func stampVersion(_ doc: inout Document, field: String, version: Int) {
    let value = BSON.int32(Int32(version))
    if doc.index(forKey: field) != nil {
        doc[field] = value
    } else {
        doc.insert(field, value, at: (doc.index(forKey: "_id") ?? -1) + 1)
    }
}

/// `_id` as text for messages.
func idText(_ id: BSON?) -> String { id.map { ExtendedJSON.string($0) } ?? "(no _id)" }

/// A new ObjectId: 4 bytes of seconds, 5 random bytes fixed per process, a 3-byte counter.
enum ObjectIdGenerator {
    private static let processBytes: [UInt8] = (0..<5).map { _ in UInt8.random(in: 0...255) }
    private static let counter = Mutex(UInt32.random(in: 0..<0xFF_FFFF))

    static func next() -> ObjectId {
        let c = counter.withLock { counter in
            counter = (counter + 1) & 0xFF_FFFF
            return counter
        }
        let t = UInt32(Date().timeIntervalSince1970)
        var bytes: [UInt8] = [UInt8(t >> 24), UInt8((t >> 16) & 0xFF), UInt8((t >> 8) & 0xFF), UInt8(t & 0xFF)]
        bytes += processBytes
        bytes += [UInt8(c >> 16), UInt8((c >> 8) & 0xFF), UInt8(c & 0xFF)]
        return ObjectId(bytes: bytes)!
    }
}
