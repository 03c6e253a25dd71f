import StrataBSON
import StrataEvaluator

/// `{"op": "rename", "from": "ts", "to": "at"}` — the value moves from one path
/// to another (also between levels: "reading.tempF" → "tempF" hoists it).
/// Functional meaning: the newer `to` is exactly the older `from` (missing if
/// it was missing), and `from` is gone. A document whose `to` already holds a
/// value is refused unless the lens says `"overwrite": true` (the old `to` is then
/// discarded; undo is lossy). A document where either path crosses an array or a
/// scalar is refused (see `LensGuard`).
package struct RenameOperation: LensOperation {
    package let from: [String]
    package let to: [String]
    package var overwrite: Bool = false
    package let location: Location
    package var name: String { "rename" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "from", "to", "overwrite", "description"])
        let from = DocumentPaths.split(try r.requiredPath("from"))
        let to = DocumentPaths.split(try r.requiredPath("to"))
        if DocumentPaths.isWithin(from, to) || DocumentPaths.isWithin(to, from) {
            throw StrataError.badInput("rename: 'from' and 'to' must not contain one another (use nest/unnest)", at: r.location)
        }
        if from.first == "_id" || to.first == "_id" {
            throw StrataError.badInput("rename cannot move _id (use convert on _id to derive a new key)", at: r.location)
        }
        return RenameOperation(from: from, to: to, overwrite: try r.optionalBool("overwrite") ?? false, location: r.location)
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        Self.move(&doc, from: from, to: to)
    }

    /// Moves the value; siblings keep the moved field's position.
    static func move(_ doc: inout Document, from: [String], to: [String]) {
        let taken = DocumentPaths.take(&doc, from)
        let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(to)
        if let taken {
            DocumentPaths.put(&doc, to, nil)
            DocumentPaths.put(&doc, to, taken.value, at: sameParent ? taken.index : nil)
        } else {
            DocumentPaths.put(&doc, to, nil)
        }
    }

    package var serverStages: [BSON]? {
        // With overwrite, a missing `from` removes `to` (explicitly: "$from" alone may leave it).
        let value: BSON = overwrite ? Expr.missingOr(from, .fieldPath(from)).bson : DocumentPaths.ref(from)
        return guardStages + [["$set": .document(Document([(DocumentPaths.join(to), value)]))],
                              ["$unset": .string(DocumentPaths.join(from))]]
    }

    package var removes: [[String]] { [from] }
    package var writes: [[String]] { [to] }
    package var guards: [LensGuard] {
        LensGuard.standard(reads: reads, removes: removes, writes: writes, extra: overwrite ? [] : [LensGuard.overwrite(to)])
    }

    package func source(of path: [String]) -> PathSource {
        if DocumentPaths.isWithin(path, to) { return .path(from + path.dropFirst(to.count)) }
        if DocumentPaths.isWithin(path, from) { return .missing }
        if DocumentPaths.isWithin(to, path) || DocumentPaths.isWithin(from, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        if overwrite { return .lossy("a value '\(DocumentPaths.join(to))' held before is discarded (overwrite)") }
        return DocumentPaths.emptyParentLoss(to).map { .lossy($0) } ?? .exact
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        Self.move(&doc, from: to, to: from)
        DocumentPaths.pruneEmptyParents(&doc, to)
    }

    package var reads: [[String]] { [from] }
}
