import StrataBSON
import StrataEvaluator

/// `{"op": "wrap", "from": "phonenumber", "into": "contacts", "element": {"method": "phone", "value": "$$value"}}`
/// — a scalar becomes an array of sub-documents. `element` is a template whose
/// values are constants or `"$$value"` (the old scalar). A missing or null
/// scalar becomes `[]` (of Cambria's six choices for an old writer's null, this
/// one keeps "no phone" meaning "no contacts"; it is why the inverse is lossy).
package struct WrapOperation: LensOperation {
    package let from: [String]
    package let into: [String]
    /// The element template: each key with either a constant or the old value.
    package let element: [(key: String, value: BSON?)]
    /// Whether a value `into` held before may be discarded.
    package var overwrite: Bool = false
    package let location: Location
    package var name: String { "wrap" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "from", "into", "element", "overwrite", "description"])
        let from = DocumentPaths.split(try r.requiredPath("from"))
        let into = DocumentPaths.split(try r.requiredPath("into"))
        if from != into && (DocumentPaths.isWithin(from, into) || DocumentPaths.isWithin(into, from)) {
            throw StrataError.badInput("wrap: 'from' and 'into' must not contain one another", at: r.location)
        }
        let spec = try r.requiredDocument("element")
        var element: [(key: String, value: BSON?)] = []
        for (k, v) in spec {
            if k.hasPrefix("$") || k.contains(".") {
                throw StrataError.badInput("element keys are plain names", at: r.location.appending("element").appending(k))
            }
            if v == .string("$$value") { element.append((k, nil)) } else {
                if case .string(let s) = v, s.hasPrefix("$") {
                    throw StrataError.badInput("element values are constants or \"$$value\"; got \"\(s)\"",
                                               at: r.location.appending("element").appending(k))
                }
                element.append((k, v))
            }
        }
        guard element.contains(where: { $0.value == nil }) else {
            throw StrataError.badInput("the element must hold the old value somewhere (\"$$value\")", at: r.location.appending("element"))
        }
        return WrapOperation(from: from, into: into, element: element, overwrite: try r.optionalBool("overwrite") ?? false,
                             location: r.location)
    }

    var valueKey: String { element.first { $0.value == nil }!.key }

    func makeElement(_ v: BSON) -> BSON {
        .document(Document(element.map { ($0.key, $0.value ?? v) }))
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        let t = DocumentPaths.take(&doc, from)
        let array: BSON
        if let v = t?.value, v != .null { array = .array([makeElement(v)]) } else { array = .array([]) }
        let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(into)
        DocumentPaths.put(&doc, into, nil)
        DocumentPaths.put(&doc, into, array, at: sameParent ? t?.index : nil)
    }

    /// `[]` when the old value is missing or null, else `[{...template, key: old}]`.
    var arrayExpression: Expr {
        let elementExpr = Expr.object(element.map { ($0.key, $0.value.map { Expr.literal($0) } ?? .fieldPath(from)) })
        return .op("$cond", .positional([
            .op("$eq", .positional([.op("$ifNull", .positional([.fieldPath(from), .literal(.null)])), .literal(.null)])),
            .literal(.array([])),
            .array([elementExpr]),
        ]))
    }

    package var serverStages: [BSON]? {
        var stages: [BSON] = guardStages + [["$set": .document(Document([(DocumentPaths.join(into), arrayExpression.bson)]))]]
        if from != into { stages.append(["$unset": .string(DocumentPaths.join(from))]) }
        return stages
    }

    package func source(of path: [String]) -> PathSource {
        if DocumentPaths.isWithin(path, into) { return .computed(arrayExpression, rest: Array(path.dropFirst(into.count))) }
        if DocumentPaths.isWithin(path, from) { return .missing }
        if DocumentPaths.isWithin(into, path) || DocumentPaths.isWithin(from, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        .lossy("a missing and a null '\(DocumentPaths.join(from))' both become [] (the inverse gives missing); only the first element matching the template comes back")
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        let t = DocumentPaths.take(&doc, into)
        guard let t else { return }
        guard case .array(let items) = t.value else {
            throw failure("cannot undo: '\(DocumentPaths.join(into))' is \(t.value.typeName), not an array")
        }
        let match = items.first { item in
            guard case .document(let d) = item else { return false }
            return element.allSatisfy { e in e.value == nil || d[e.key] == e.value }
        }
        if case .document(let d)? = match, let v = d[valueKey] {
            let sameParent = DocumentPaths.parent(from) == DocumentPaths.parent(into)
            DocumentPaths.put(&doc, from, v, at: sameParent ? t.index : nil)
        }
    }

    package var reads: [[String]] { [from] }
    package var removes: [[String]] { from == into ? [] : [from] }
    package var writes: [[String]] { [into] }
    package var guards: [LensGuard] {
        LensGuard.standard(reads: reads, removes: removes, writes: writes,
                           extra: overwrite || from == into ? [] : [LensGuard.overwrite(into)])
    }
}
