import StrataBSON
import StrataEvaluator

/// `{"op": "add", "field": "currency", "value": "USD"}` — adds a field with a
/// default value; a document that already has the field keeps its value.
package struct AddFieldOperation: LensOperation {
    package let field: [String]
    package let value: BSON
    package let location: Location
    package var name: String { "add" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "field", "value", "description"])
        let field = DocumentPaths.split(try r.requiredPath("field"))
        guard let value = r.value("value") else { throw r.missing("value", "the default value") }
        if field.first == "_id" { throw StrataError.badInput("add cannot set _id", at: r.location.appending("field")) }
        return AddFieldOperation(field: field, value: value, location: r.location)
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        if DocumentPaths.get(doc, field) == nil { DocumentPaths.put(&doc, field, value) }
    }

    /// The existing value when there is one, else the default.
    var expression: Expr {
        .op("$cond", .positional([
            .op("$eq", .positional([.op("$type", .positional([.fieldPath(field)])), .literal("missing")])),
            .literal(value),
            .fieldPath(field),
        ]))
    }

    package var serverStages: [BSON]? { guardStages + [["$set": .document(Document([(DocumentPaths.join(field), expression.bson)]))]] }
    package var writes: [[String]] { [field] }

    package func source(of path: [String]) -> PathSource {
        if path == field { return .computed(expression) }
        if DocumentPaths.isWithin(path, field) { return .computed(expression, rest: Array(path.dropFirst(field.count))) }
        if DocumentPaths.isWithin(field, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility { .lossy("a document that already had '\(DocumentPaths.join(field))' loses it") }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        DocumentPaths.put(&doc, field, nil)
    }

    package var reads: [[String]] { [field] }
}

/// `{"op": "remove", "field": "legacyFlag"}` — drops a field. Not invertible,
/// unless `"restore"` gives the value a down-migration puts back (lossy).
package struct RemoveFieldOperation: LensOperation {
    package let field: [String]
    package let restore: BSON?
    package let location: Location
    package var name: String { "remove" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "field", "restore", "description"])
        let field = DocumentPaths.split(try r.requiredPath("field"))
        if field.first == "_id" { throw StrataError.badInput("remove cannot drop _id", at: r.location.appending("field")) }
        return RemoveFieldOperation(field: field, restore: r.value("restore"), location: r.location)
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        DocumentPaths.put(&doc, field, nil)
    }

    package var serverStages: [BSON]? { guardStages + [["$unset": .string(DocumentPaths.join(field))]] }
    package var removes: [[String]] { [field] }

    package func source(of path: [String]) -> PathSource {
        if DocumentPaths.isWithin(path, field) { return .missing }
        if DocumentPaths.isWithin(field, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        restore == nil ? .impossible("the removed value is gone") : .lossy("every document gets the 'restore' value back")
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        guard let restore else { throw failure("cannot undo: the removed value of '\(DocumentPaths.join(field))' is gone") }
        DocumentPaths.put(&doc, field, restore)
    }

    package var reads: [[String]] { [] }
}
