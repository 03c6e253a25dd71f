import StrataBSON
import StrataEvaluator

/// `{"op": "lookup", "field": "tags", "from": "products", "localField": "product",
///   "foreignField": "_id", "select": "tags", "default": []}`
/// — the new field is `select` of the first document of `from` (natural order)
/// whose `foreignField` equals the old `localField` (MongoDB `$lookup`
/// matching); `default` when there is none or its value is missing or null.
package struct LookupOperation: LensOperation {
    package let field: [String]
    package let from: String
    package let localField: [String]
    package let foreignField: String
    package let select: [String]
    package let defaultValue: BSON
    /// Whether a value `field` held before may be discarded.
    package var overwrite: Bool = false
    /// The lens of `from` when it has one of its own (`Lens.bindingLookups`): the foreign
    /// documents are then read as if migrated (`LensContext.versionedLookup`), which only
    /// Swift can do — this step has no server stages and its field is Swift-only.
    package var foreign: Lens?
    package let location: Location
    package var name: String { "lookup" }
    package var isExpensive: Bool { true }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "field", "from", "localField", "foreignField", "select", "default", "overwrite", "description"])
        let field = DocumentPaths.split(try r.requiredPath("field"))
        let from = try r.requiredString("from")
        if from.isEmpty { throw StrataError.badInput("'from' names a collection", at: r.location.appending("from")) }
        let localField = DocumentPaths.split(try r.requiredPath("localField"))
        let foreignField = try r.requiredPath("foreignField")
        let select = DocumentPaths.split(try r.requiredPath("select"))
        if field.first == "_id" { throw StrataError.badInput("lookup cannot set _id", at: r.location.appending("field")) }
        return LookupOperation(field: field, from: from, localField: localField, foreignField: foreignField, select: select,
                               defaultValue: r.value("default") ?? .null, overwrite: try r.optionalBool("overwrite") ?? false,
                               location: r.location)
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        let match: Document?
        if let foreign {
            guard let lookup = context.versionedLookup else {
                throw failure("needs the database to look '\(DocumentPaths.join(localField))' up in '\(from)' as if migrated (no versioned lookup provider)")
            }
            match = try lookup(foreign, foreignField, DocumentPaths.get(doc, localField))
        } else {
            guard let lookup = context.lookup else {
                throw failure("needs the database to look '\(DocumentPaths.join(localField))' up in '\(from)' (no lookup provider)")
            }
            match = try lookup(from, foreignField, DocumentPaths.get(doc, localField))
        }
        var value = match.flatMap { $0.value(atPath: select) } ?? .null
        if value == .null { value = defaultValue }
        DocumentPaths.put(&doc, field, nil)
        if DocumentPaths.parent(field) == DocumentPaths.parent(localField),
           let parent = DocumentPaths.parent(field).isEmpty ? doc : doc.value(atPath: DocumentPaths.parent(field))?.documentValue,
           let i = parent.index(forKey: localField.last!)
        {
            DocumentPaths.put(&doc, field, value, at: i + 1)
        } else {
            DocumentPaths.put(&doc, field, value)
        }
    }

    var prerequisite: LookupPrerequisite {
        LookupPrerequisite(from: from, localField: localField, foreignField: foreignField,
                           temporaryField: "__strata_lookup_" + field.joined(separator: "_"))
    }

    /// The value, given the prerequisite's temporary field.
    var valueExpression: Expr {
        .op("$ifNull", .positional([
            .op("$let", .named([
                ("vars", .object([("m", .op("$arrayElemAt", .positional([.fieldPath([prerequisite.temporaryField]), .literal(0)])))])),
                ("in", .variable("m", select)),
            ])),
            .literal(defaultValue),
        ]))
    }

    package var serverStages: [BSON]? {
        // The server's $lookup would read the foreign documents as stored.
        if foreign != nil { return nil }
        return guardStages + [prerequisite.stage,
         ["$set": .document(Document([(DocumentPaths.join(field), valueExpression.bson)]))],
         ["$unset": .string(prerequisite.temporaryField)]]
    }

    package func source(of path: [String]) -> PathSource {
        if DocumentPaths.isWithin(path, field), foreign != nil {
            return .swiftOnly("'\(DocumentPaths.join(field))' is looked up in '\(from)', which has a lens of its own: only Swift reads it as if migrated (\(name) at \(location))")
        }
        if DocumentPaths.isWithin(path, field) {
            return PathSource(.computed(valueExpression, rest: Array(path.dropFirst(field.count))), lookups: [prerequisite])
        }
        if DocumentPaths.isWithin(field, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        if overwrite { return .lossy("a value '\(DocumentPaths.join(field))' held before is discarded (overwrite)") }
        return DocumentPaths.emptyParentLoss(field).map { .lossy($0) } ?? .exact
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        DocumentPaths.put(&doc, field, nil)
        DocumentPaths.pruneEmptyParents(&doc, field)
    }

    package var reads: [[String]] { [localField] }
    package var writes: [[String]] { [field] }
    package var guards: [LensGuard] {
        // $lookup matches an array's elements (and an empty array like null): not what the Swift lookup does.
        let array = LensGuard(.isArray(localField), "'\(DocumentPaths.join(localField))' is an array: a lookup matches one value")
        return LensGuard.standard(reads: reads, removes: [], writes: writes, extra: [array] + (overwrite ? [] : [LensGuard.overwrite(field)]))
    }
}
