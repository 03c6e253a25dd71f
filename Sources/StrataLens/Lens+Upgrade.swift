import StrataBSON
import StrataEvaluator
import StrataLibBSON

extension Lens {
    /// Upgrades a stored document to `target` (default: the newest version) in Swift.
    /// Throws `.unknownVersion` for a version the lens does not know and
    /// `.upgradeFailed` (naming the `_id` and the operation) when an operation
    /// cannot handle the document. The input is never modified.
    public func upgrade(_ doc: Document, to target: Int? = nil, context: LensContext = LensContext()) throws -> Document {
        try upgrade(doc, to: target, context: context) { _, _ in }
    }

    /// `upgrade(_:to:context:)`, showing `visit` each operation and the document as it is
    /// just before it (what `strata lens check` tests claims on).
    public func upgrade(_ doc: Document, to target: Int? = nil, context: LensContext = LensContext(),
                        visiting visit: (any LensOperation, Document) throws -> Void) throws -> Document {
        let version = try knownVersion(of: doc)
        let target = target ?? newest
        guard version <= target else {
            throw StrataError(.badInput, "document \(idText(doc)) is at version \(version), newer than the target \(target)")
        }
        var out = doc
        for op in operations(from: version, to: target) {
            try visit(op, out)
            do {
                try op.checkGuards(out)
                try op.upgrade(&out, context: context)
            } catch let e as StrataError {
                throw StrataError(.upgradeFailed, "cannot upgrade document \(idText(doc)) from version \(version): \(e.message)",
                                  at: e.location ?? op.location)
            }
        }
        return out
    }

    /// The known version of a stored document, or an error saying what is wrong with it.
    public func knownVersion(of doc: Document) throws -> Int {
        switch storedVersion(of: doc) {
        case .known(let v): return v
        case .unknown(let v):
            throw StrataError(.unknownVersion, "document \(idText(doc)) is at version \(v), which the lens for '\(collection)' does not know (it knows \(oldest)...\(newest))",
                              at: source.map { Location(file: $0) })
        case .invalid(let v):
            throw StrataError(.unknownVersion, "document \(idText(doc)) has \(versionField) = \(ExtendedJSON.string(v)), which is not an integer version",
                              at: source.map { Location(file: $0) })
        }
    }

    package func idText(_ doc: Document) -> String {
        doc["_id"].map { "_id " + ExtendedJSON.string($0) } ?? "(without _id)"
    }
}
