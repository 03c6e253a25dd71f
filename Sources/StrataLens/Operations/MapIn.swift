import StrataBSON
import StrataEvaluator

/// `{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}]}`
/// — the operations apply to every element of the array at `field` that is a
/// document, as if the element were a whole document (their paths, `$field`
/// references and `$$ROOT` are the element's);
/// `{"op": "in", "field": "address", "operations": [...]}` — the same, to the
/// sub-document at `field`.
///
/// What is left alone: a missing, null or scalar `field`; elements of the array that
/// are not documents (numbers, strings, null). What is refused (the document is not
/// upgraded, on either side, naming the step): `field` under an array; for `map`, a
/// `field` that holds a sub-document (use `in`) or an array with an array element
/// (nested arrays have no element-wise meaning in queries); for `in`, a `field` that
/// holds an array (use `map`). An inner operation refuses an element as it would
/// refuse a document.
///
/// Inside: `rename`, `nest`, `unnest`, `wrap`, `add`, `remove`, `convert`, and `map`/`in`
/// again; not `lookup` or `custom`. On the server (see `ElementExpression`) only `rename`,
/// `remove`, `add` and an in-place `convert` of `$$value` on the element's own fields
/// are written as stages; with anything else the versions before it upgrade in Swift.
/// Queries translate through the element: a path
/// `field.x` of the newer document that an inner operation renames or moves reads
/// `field.y` of the older one, so predicates, sorts and indexes on element fields
/// still use the older version's index. A path the inner operations compute (a
/// `convert`, an `add`) is answered by upgrading on the server first.
package struct ScopedOperation: LensOperation {
    package enum Scope: String, Sendable {
        /// Every document element of an array.
        case map
        /// One sub-document.
        case `in`
    }

    package let scope: Scope
    package let path: [String]
    package let operations: [any LensOperation]
    package let location: Location
    package var name: String { scope.rawValue }

    static let allowedInside: Set<String> = ["rename", "nest", "unnest", "wrap", "add", "remove", "convert", "map", "in"]

    static func parseMap(_ r: ArgumentReader) throws -> any LensOperation { try parse(r, scope: .map) }
    static func parseIn(_ r: ArgumentReader) throws -> any LensOperation { try parse(r, scope: .in) }

    static func parse(_ r: ArgumentReader, scope: Scope) throws -> any LensOperation {
        try r.allowOnly(["op", "field", "operations", "description"])
        let path = DocumentPaths.split(try r.requiredPath("field"))
        if path.first == "_id" { throw StrataError.badInput("\(scope.rawValue) cannot change _id", at: r.location.appending("field")) }
        let values = try r.requiredArray("operations")
        if values.isEmpty {
            throw StrataError.badInput("\(scope.rawValue) needs at least one operation", at: r.location.appending("operations"))
        }
        var ops: [any LensOperation] = []
        for (i, v) in values.enumerated() {
            let loc = r.location.appending("operations").appending(index: i)
            let op = try LensOperations.parse(v, at: loc)
            if let c = op as? ConvertOperation, c.onError == .skip {
                throw StrataError.badInput("onError \"skip\" cannot be used inside \(scope.rawValue): it leaves out a whole document, not an element",
                                           at: loc.appending("onError"))
            }
            guard allowedInside.contains(op.name) else {
                throw StrataError.badInput(
                    "'\(op.name)' cannot run inside \(scope.rawValue) (allowed: \(allowedInside.sorted().joined(separator: ", ")))",
                    at: loc.appending("op"))
            }
            ops.append(op)
        }
        return ScopedOperation(scope: scope, path: path, operations: ops, location: r.location)
    }

    // MARK: Swift

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        try transform(&doc) { d in
            for op in operations {
                try op.checkGuards(d)
                try op.upgrade(&d, context: context)
            }
        }
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        try transform(&doc) { d in
            for op in operations.reversed() { try op.downgrade(&d, context: context) }
        }
    }

    /// Applies `body` to every document the operation reaches, in place.
    func transform(_ doc: inout Document, _ body: (inout Document) throws -> Void) throws {
        switch (scope, DocumentPaths.get(doc, path)) {
        case (.map, .array(var elements)?):
            for i in elements.indices {
                guard case .document(var d) = elements[i] else { continue }
                try body(&d)
                elements[i] = .document(d)
            }
            DocumentPaths.put(&doc, path, .array(elements))
        case (.in, .document(var d)?):
            try body(&d)
            DocumentPaths.put(&doc, path, .document(d))
        default:
            break
        }
    }

    // MARK: Server

    /// nil when an inner operation has no element form for the server (see
    /// `ElementExpression`): the planner then upgrades these versions in Swift.
    package var serverStages: [BSON]? {
        guard let value = valueTransform(.fieldPath(path)) else { return nil }
        return guardStages + [["$set": .document(Document([(DocumentPaths.join(path), value.bson)]))]]
    }

    /// The upgraded value of `value` (the path to the array or sub-document). `value` is
    /// repeated rather than bound: SecantusDB's `$let` does not keep a missing value missing.
    func valueTransform(_ value: Expr) -> Expr? {
        let e = "strata_e"
        guard let inner = ElementExpression.transform(operations, input: e) else { return nil }
        switch scope {
        case .map:
            return .op("$cond", .positional([
                .op("$isArray", .positional([value])),
                .op("$map", .named([("input", value), ("as", .literal(.string(e))), ("in", .op("$cond", .positional([
                    ElementExpression.isObject(.variable(e, [])), inner, .variable(e, []),
                ])))])),
                value,
            ]))
        case .in:
            return .op("$cond", .positional([
                ElementExpression.isObject(value),
                .op("$let", .named([("vars", .object([(e, value)])), ("in", inner)])),
                value,
            ]))
        }
    }

    package var guards: [LensGuard] {
        let p = DocumentPaths.join(path)
        var out = LensGuard.standard(reads: [path], removes: [], writes: [])
        switch scope {
        case .map:
            out.append(LensGuard(.isDocument(path), "'\(p)' is a sub-document, not an array (map works on the elements of an array; use in)"))
            out.append(LensGuard(.hasArrayElement(path), "an element of '\(p)' is an array (map works on the documents in an array, not on nested arrays)"))
        case .in:
            out.append(LensGuard(.isArray(path), "'\(p)' is an array, not a sub-document (in works on a sub-document; use map for the elements of an array)"))
        }
        return out
    }

    // MARK: Paths

    package func source(of q: [String]) -> PathSource {
        if q.count > path.count && DocumentPaths.isWithin(q, path) {
            let rest = Array(q.dropFirst(path.count))
            if scope == .map, let first = rest.first, !first.isEmpty, first.allSatisfy(\.isNumber) {
                return .untranslatable("'\(DocumentPaths.join(q))' names an element of the array '\(DocumentPaths.join(path))' by position, and map at \(location) changes the elements")
            }
            var src = PathSource.path(rest)
            for op in operations.reversed() {
                src = Lens.pullBack(src, through: op)
            }
            if case .path(let r) = src.value, src.lookups.isEmpty { return .path(path + r) }
            if case .swiftOnly = src.value { return src }
            return .untranslatable("'\(DocumentPaths.join(q))' is computed inside '\(DocumentPaths.join(path))' by \(name) at \(location)")
        }
        if DocumentPaths.isWithin(path, q) {
            return .untranslatable("the whole of '\(DocumentPaths.join(q))' changes shape in \(name) at \(location)")
        }
        return .path(q)
    }

    package var invertibility: Invertibility {
        for op in operations {
            if case .impossible(let why) = op.invertibility { return .impossible("\(op.name) at \(op.location): \(why)") }
        }
        for op in operations {
            if case .lossy(let why) = op.invertibility { return .lossy("\(op.name) at \(op.location): \(why)") }
        }
        return .exact
    }

    package var reads: [[String]] { [path] }
    package var writes: [[String]] { [path] }
}
