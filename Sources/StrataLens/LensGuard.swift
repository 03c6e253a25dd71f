import StrataBSON
import StrataEvaluator

/// A condition under which an operation refuses a document instead of guessing:
/// a lens path that crosses an array or a scalar, a target that already holds a
/// value the operation would overwrite without the lens saying so, a sub-document
/// that is not one. The same guard is checked in Swift (before `upgrade`) and on
/// the server (a stage that fails the aggregation with the same words), so both
/// refuse the same documents, naming the `_id` and the lens location.
///
/// Why refuse rather than define element-wise semantics: lens paths address
/// sub-documents, never array elements, and servers disagree on `$set: {"a.b": …}`
/// and `"$a.b"` where `a` is an array (mongod works on every element, SecantusDB
/// leaves the array alone) — an answer would depend on the plan.
public struct LensGuard: Sendable {
    package enum Condition: Sendable, Equatable {
        /// Refused when a proper prefix of the path is an array (reads and removals).
        case crossesArray([String])
        /// Refused when a proper prefix of the path is present and not a sub-document (writes).
        case crossesNonDocument([String])
        /// Refused when the path holds a value (a target the operation would overwrite).
        case present([String])
        /// Refused when the path holds a value that is not a sub-document.
        case presentNonDocument([String])
        /// Refused when the path holds an array.
        case isArray([String])
        /// Refused when both paths hold a value.
        case bothPresent([String], [String])
        /// Refused when the path holds a sub-document.
        case isDocument([String])
        /// Refused when the path holds an array one of whose elements is an array.
        case hasArrayElement([String])
    }

    package let condition: Condition
    package let message: String

    /// The paths the guard looks at (to decide it, a document must hold them).
    package var paths: [[String]] {
        switch condition {
        case .crossesArray(let p), .crossesNonDocument(let p), .present(let p), .presentNonDocument(let p),
             .isArray(let p), .isDocument(let p), .hasArrayElement(let p):
            return [p]
        case .bothPresent(let a, let b):
            return [a, b]
        }
    }

    package init(_ condition: Condition, _ message: String) {
        self.condition = condition
        self.message = message
    }

    /// True when the document must be refused (Swift side).
    package func refuses(_ doc: Document) -> Bool {
        func prefixes(_ p: [String]) -> [[String]] { p.count < 2 ? [] : (1..<p.count).map { Array(p.prefix($0)) } }
        switch condition {
        case .crossesArray(let p):
            return prefixes(p).contains { q in if case .array? = doc.value(atPath: q) { return true }; return false }
        case .crossesNonDocument(let p):
            return prefixes(p).contains { q in
                guard let v = doc.value(atPath: q) else { return false }
                if case .document = v { return false }
                return true
            }
        case .present(let p):
            return doc.value(atPath: p) != nil
        case .presentNonDocument(let p):
            guard let v = doc.value(atPath: p) else { return false }
            if case .document = v { return false }
            return true
        case .isArray(let p):
            if case .array? = doc.value(atPath: p) { return true }
            return false
        case .bothPresent(let a, let b):
            return doc.value(atPath: a) != nil && doc.value(atPath: b) != nil
        case .isDocument(let p):
            if case .document? = doc.value(atPath: p) { return true }
            return false
        case .hasArrayElement(let p):
            guard case .array(let elements)? = doc.value(atPath: p) else { return false }
            return elements.contains { if case .array = $0 { return true }; return false }
        }
    }

    /// The same test as an aggregation expression (server side). Written so that it
    /// does not depend on how a server resolves `$a.b` through an array: a path whose
    /// prefix is an array is always caught by an earlier guard of the same operation.
    var expression: Expr {
        func prefixes(_ p: [String]) -> [[String]] { p.count < 2 ? [] : (1..<p.count).map { Array(p.prefix($0)) } }
        func type(_ p: [String]) -> Expr { .op("$type", .positional([.fieldPath(p)])) }
        func isPresent(_ p: [String]) -> Expr { .op("$ne", .positional([type(p), .literal("missing")])) }
        func any(_ es: [Expr]) -> Expr {
            es.isEmpty ? .literal(.bool(false)) : es.count == 1 ? es[0] : .op("$or", .positional(es))
        }
        switch condition {
        case .crossesArray(let p):
            return any(prefixes(p).map { .op("$isArray", .positional([.fieldPath($0)])) })
        case .crossesNonDocument(let p):
            return any(prefixes(p).map { q in
                .op("$not", .positional([.op("$in", .positional([type(q), .literal(["missing", "object"])]))]))
            })
        case .present(let p):
            return isPresent(p)
        case .presentNonDocument(let p):
            return .op("$not", .positional([.op("$in", .positional([type(p), .literal(["missing", "object"])]))]))
        case .isArray(let p):
            return .op("$isArray", .positional([.fieldPath(p)]))
        case .bothPresent(let a, let b):
            return .op("$and", .positional([isPresent(a), isPresent(b)]))
        case .isDocument(let p):
            return .op("$eq", .positional([type(p), .literal("object")]))
        case .hasArrayElement(let p):
            // `$in` of true in the elements' `$isArray` (an empty array has none).
            return .op("$cond", .positional([
                .op("$isArray", .positional([.fieldPath(p)])),
                .op("$in", .positional([.literal(true), .op("$map", .named([
                    ("input", .fieldPath(p)), ("as", .literal("strata_g")),
                    ("in", .op("$isArray", .positional([.variable("strata_g", [])]))),
                ]))])),
                .literal(false),
            ]))
        }
    }

    /// The prefix of every refusal message, on both sides; the server's error carries it
    /// inside a conversion failure, which `Lens.upgradeFailure(serverMessage:)` unwraps.
    package static let marker = "strata upgradeFailed: "
    static let guardField = "__strata_guard"

    /// Guards for an operation that reads `reads`, removes `removes` and writes `writes`
    /// (array and scalar prefixes), then `extra` (targets and sub-documents).
    static func standard(reads: [[String]], removes: [[String]], writes: [[String]], extra: [LensGuard] = []) -> [LensGuard] {
        var out: [LensGuard] = []
        var seen: [Condition] = []
        func add(_ g: LensGuard) {
            guard !seen.contains(g.condition) else { return }
            seen.append(g.condition)
            out.append(g)
        }
        for p in reads + removes where p.count > 1 {
            add(LensGuard(.crossesArray(p),
                          "'\(DocumentPaths.join(p))' lies under an array (lens paths address sub-documents, not array elements)"))
        }
        for p in writes where p.count > 1 {
            add(LensGuard(.crossesArray(p),
                          "'\(DocumentPaths.join(p))' lies under an array (lens paths address sub-documents, not array elements)"))
        }
        for p in writes where p.count > 1 {
            add(LensGuard(.crossesNonDocument(p),
                          "'\(DocumentPaths.join(p))' cannot be written: a field on its way holds a value that is not a sub-document"))
        }
        for g in extra { add(g) }
        return out
    }

    static func overwrite(_ p: [String]) -> LensGuard {
        LensGuard(.present(p), "'\(DocumentPaths.join(p))' already holds a value the operation would overwrite (say \"overwrite\": true to discard it)")
    }
}

extension LensOperation {
    /// Checks the operation's guards on a document (Swift side).
    func checkGuards(_ doc: Document) throws {
        for g in guards where g.refuses(doc) { throw failure(g.message) }
    }

    /// The stage that fails the aggregation on a document a guard refuses, or none.
    /// The failure is a string that is not a number given to `$toInt`: every server
    /// reports it with the string, which names the document's `_id` and the lens location.
    var guardStages: [BSON] {
        guard let check = guardCheck(id: .fieldPath(["_id"]), rewrite: { $0 }) else { return [] }
        return [["$set": .document(Document([(LensGuard.guardField, check.bson)]))],
                ["$unset": .string(LensGuard.guardField)]]
    }

    /// The guards as one expression: missing when none refuses, else it fails with the
    /// refusal (naming `id`). `rewrite` places each condition (a `map` checks elements).
    func guardCheck(id: Expr, rewrite: (Expr) -> Expr) -> Expr? {
        guardCheck(id: id, rewrite: rewrite, translate: { $0 })
    }

    /// `guardCheck(id:rewrite:)` with each condition translated (nil when one cannot be).
    func guardCheck(id: Expr, rewrite: (Expr) -> Expr, translate: (Expr) -> Expr?) -> Expr? {
        let gs = guards
        guard !gs.isEmpty else { return nil }
        let idText: Expr = .op("$convert", .named([("input", id), ("to", .literal("string")),
                                                   ("onError", .literal("(not a string)")), ("onNull", .literal("null"))]))
        var e: Expr = .variable("REMOVE", [])
        for g in gs.reversed() {
            let fail: Expr = .op("$toInt", .positional([.op("$concat", .positional([
                .literal(.string(LensGuard.marker + "document _id ")), idText,
                .literal(.string(": \(name): \(g.message) [at \(location)]")),
            ]))]))
            guard let condition = translate(rewrite(g.expression)) else { return nil }
            e = .op("$cond", .positional([condition, fail, e]))
        }
        return e
    }
}

extension Lens {
    /// The `.upgradeFailed` error a server reported for a document a lens guard refused
    /// (see `LensGuard`), or nil when the message is not one.
    package static func upgradeFailure(serverMessage: String, onServer: Bool = true) -> StrataError? {
        guard let start = serverMessage.range(of: LensGuard.marker) else { return nil }
        var text = serverMessage[start.upperBound...]
        if let end = text.range(of: "' in $convert") { text = text[..<end.lowerBound] }
        return StrataError(.upgradeFailed, "cannot upgrade " + text + (onServer ? " (refused on the server)" : ""))
    }
}

extension Expr {
    /// `$$REMOVE` when `path` is missing, else `e`.
    static func missingOr(_ path: [String], _ e: Expr) -> Expr {
        .op("$cond", .positional([
            .op("$eq", .positional([.op("$type", .positional([.fieldPath(path)])), .literal("missing")])),
            .variable("REMOVE", []),
            e,
        ]))
    }
}
