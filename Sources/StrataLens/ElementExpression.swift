import StrataEvaluator

/// The server half of `map`/`in` (see `ScopedOperation`): the inner operations as one
/// aggregation expression over a sub-document, for a `$set` (stages cannot run on an
/// array element).
///
/// Only operations on the element's own fields are written for the server — `rename`,
/// `remove`, `add`, and an in-place `convert` whose expression reads only `$$value` — and
/// only with constructs that keep MongoDB's missing-field semantics on every server:
/// presence is asked of the element's key list (`$objectToArray`), values are read with
/// `$getField` only once present, and elements are rebuilt with `$arrayToObject` or
/// `$setField`. (SecantusDB turns a missing `$$var.field` into null and gives `$type`
/// "object" for a missing `$getField`, so the general forms would answer differently
/// there.) Any other inner operation makes the whole `map`/`in` run in Swift (its
/// `serverStages` is nil): still exact, with path translation and index use intact.
enum ElementExpression {
    /// The document in `input` with `ops` applied, or nil when some operation has no
    /// server form. Guards name the stage document's `_id` (`$_id` inside `$map` is it).
    static func transform(_ ops: [any LensOperation], input: String) -> Expr? {
        var current: Expr = .variable(input, [])
        for (i, op) in ops.enumerated() {
            let name = "strata_d\(i)"
            let doc: Expr = .variable(name, [])
            guard var body = step(op, doc) else { return nil }
            var checks: [(Expr, String)] = []
            for g in op.guards {
                guard case .present(let p) = g.condition, p.count == 1 else { return nil }
                checks.append((has(p[0], doc), g.message))
            }
            if !checks.isEmpty {
                body = .op("$ifNull", .positional([refusal(checks, op: op), body]))
            }
            current = .op("$let", .named([("vars", .object([(name, current)])), ("in", body)]))
        }
        return current
    }

    /// One operation over `doc` (a document), or nil when it has no element form here.
    static func step(_ op: any LensOperation, _ doc: Expr) -> Expr? {
        switch op {
        case let r as RenameOperation where r.from.count == 1 && r.to.count == 1:
            let (from, to) = (r.from[0], r.to[0])
            // Swift: `to` is cleared first (a missing `from` leaves it cleared), then the
            // value takes `from`'s place; without overwrite a present `to` was refused.
            let cleared = r.overwrite ? without(to, doc) : doc
            return .op("$arrayToObject", .positional([.op("$map", .named([
                ("input", .op("$objectToArray", .positional([cleared]))), ("as", .literal("strata_kv")),
                ("in", .object([
                    ("k", .op("$cond", .positional([.op("$eq", .positional([.variable("strata_kv", ["k"]), .literal(.string(from))])),
                                                    .literal(.string(to)), .variable("strata_kv", ["k"])]))),
                    ("v", .variable("strata_kv", ["v"])),
                ])),
            ]))]))
        case let r as RemoveFieldOperation where r.field.count == 1:
            return without(r.field[0], doc)
        case let a as AddFieldOperation where a.field.count == 1:
            return .op("$cond", .positional([has(a.field[0], doc), doc, setField(a.field[0], doc, .literal(a.value))]))
        case let c as ConvertOperation where c.field.count == 1 && c.to == c.field && c.skipWhenMissing:
            let key = c.field[0]
            var readsOther = false
            _ = c.expr.rewritingVariable("value") { rest in
                if !rest.isEmpty { readsOther = true }
                return .literal(.null)
            }.rewritingFieldPaths { p, _ in readsOther = true; return .fieldPath(p) }
            if readsOther { return nil }
            // `$_id` in the onError refusal is the stage's document inside `$map`: the right one.
            let value = c.policyExpression(id: .fieldPath(["_id"])).rewritingVariable("value") { _ in getField(key, doc) }
            return .op("$cond", .positional([has(key, doc), setField(key, doc, value), doc]))
        default:
            return nil
        }
    }

    /// Fails with the first refusal whose condition holds (same words as Swift), else missing.
    static func refusal(_ checks: [(Expr, String)], op: any LensOperation) -> Expr {
        let id: Expr = .op("$convert", .named([("input", .fieldPath(["_id"])), ("to", .literal("string")),
                                               ("onError", .literal("(not a string)")), ("onNull", .literal("null"))]))
        var e: Expr = .variable("REMOVE", [])
        for (condition, message) in checks.reversed() {
            let fail: Expr = .op("$toInt", .positional([.op("$concat", .positional([
                .literal(.string(LensGuard.marker + "document _id ")), id,
                .literal(.string(": \(op.name): \(message) [at \(op.location)]")),
            ]))]))
            e = .op("$cond", .positional([condition, fail, e]))
        }
        return e
    }

    /// True when the document `doc` has the key.
    static func has(_ key: String, _ doc: Expr) -> Expr {
        .op("$in", .positional([.literal(.string(key)), .op("$map", .named([
            ("input", .op("$objectToArray", .positional([doc]))), ("as", .literal("strata_kv")),
            ("in", .variable("strata_kv", ["k"])),
        ]))]))
    }

    /// `doc` without the key (the other keys in order).
    static func without(_ key: String, _ doc: Expr) -> Expr {
        .op("$arrayToObject", .positional([.op("$filter", .named([
            ("input", .op("$objectToArray", .positional([doc]))), ("as", .literal("strata_kv")),
            ("cond", .op("$ne", .positional([.variable("strata_kv", ["k"]), .literal(.string(key))]))),
        ]))]))
    }

    static func getField(_ key: String, _ input: Expr) -> Expr {
        .op("$getField", .named([("field", .literal(.string(key))), ("input", input)]))
    }

    static func setField(_ key: String, _ input: Expr, _ value: Expr) -> Expr {
        .op("$setField", .named([("field", .literal(.string(key))), ("input", input), ("value", value)]))
    }

    static func isObject(_ e: Expr) -> Expr {
        .op("$eq", .positional([.op("$type", .positional([e])), .literal("object")]))
    }
}
