import StrataBSON
import StrataEvaluator

/// The last, implicit operation of every step: the version field becomes the
/// step's `to`. Written right after `_id` when the document had none (as the
/// datasets do); a down-migration to the version that "absent" means removes it.
package struct StampVersionOperation: LensOperation {
    package let field: String
    package let from: Int
    package let to: Int
    package let absentMeans: Int
    package let location: Location
    package var name: String { "(set \(field) to \(to))" }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        Self.stamp(&doc, field: field, version: to)
    }

    static func stamp(_ doc: inout Document, field: String, version: Int) {
        let value = BSON.int32(Int32(version))
        if doc.index(forKey: field) != nil {
            doc[field] = value
        } else {
            doc.insert(field, value, at: (doc.index(forKey: "_id") ?? -1) + 1)
        }
    }

    package var serverStages: [BSON]? { [["$set": .document(Document([(field, BSON.int32(Int32(to)))]))]] }

    package func source(of path: [String]) -> PathSource {
        if path == [field] { return .constant(.int32(Int32(to))) }
        if path.first == field { return .missing }
        if path.isEmpty { return .untranslatable("the whole document changes version") }
        return .path(path)
    }

    package var invertibility: Invertibility { .exact }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        if from == absentMeans { doc.removeValue(forKey: field) } else { Self.stamp(&doc, field: field, version: from) }
    }

    package var reads: [[String]] { [] }
}

extension LensStep {
    /// The step's operations followed by its implicit version stamp.
    func allOperations(versionField: String, absentMeans: Int) -> [any LensOperation] {
        operations + [StampVersionOperation(field: versionField, from: from, to: to, absentMeans: absentMeans, location: location)]
    }
}
