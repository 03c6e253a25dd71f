import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// `{"op": "convert", "field": "reading.tempF", "to": "reading.tempC",
///   "expr": {"$divide": [{"$multiply": [{"$subtract": ["$$value", 32]}, 5]}, 9]},
///   "inverse": {"$add": [{"$divide": [{"$multiply": ["$$value", 9]}, 5]}, 32]},
///   "monotone": "increasing"}`
///
/// The new value is an aggregation expression of the old one (`$$value`; other
/// fields of the older document may be read as `$path`). Optional:
/// - `to`: a new name (default: the same field);
/// - `inverse`: the expression back (`$$value` is the new value), with
///   `inverseExact: true` when it gives back the stored value exactly;
/// - `monotone`: "increasing" / "decreasing" when `expr` preserves / reverses
///   order over numbers, which lets range predicates use an index on the old field;
///   refused when `expr` may change the value's type class (`$toDouble` of a string:
///   strings are not ordered like their numbers), see `ConversionTypeClass`;
/// - `ifMissing`: "skip" (default: a missing field stays missing) or "evaluate";
/// - `onError`: what a value the expression's conversions reject becomes (see
///   `ConversionErrorPolicy`, `ConversionFailureTest`): "fail" (default: the document is
///   refused, in Swift and on the server with the same words), "null", or "keep" (the
///   stored value).
package struct ConvertOperation: LensOperation {
    package enum Monotonicity: String, Sendable { case increasing, decreasing }

    package let field: [String]
    package let to: [String]
    /// The expression as written (`$$value` = the old value).
    package let expr: Expr
    package let inverse: Expr?
    package let inverseExact: Bool
    package let monotone: Monotonicity?
    package let skipWhenMissing: Bool
    /// Whether a value `to` (another field than `field`) held before may be discarded.
    package var overwrite: Bool = false
    package var onError: ConversionErrorPolicy = .fail
    /// True (over `$$value`) when a conversion in `expr` rejects its input; nil when none can.
    package var failureTest: Expr? = nil
    package let location: Location
    package var name: String { "convert" }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "field", "to", "expr", "inverse", "inverseExact", "monotone", "ifMissing", "overwrite", "onError", "description"])
        let field = DocumentPaths.split(try r.requiredPath("field"))
        let to = try r.optionalPath("to").map(DocumentPaths.split) ?? field
        if to != field && (DocumentPaths.isWithin(to, field) || DocumentPaths.isWithin(field, to)) {
            throw StrataError.badInput("convert: 'field' and 'to' must not contain one another", at: r.location)
        }
        if (field.first == "_id") != (to.first == "_id") {
            throw StrataError.badInput("convert: _id can only be converted in place (field and to both _id)", at: r.location)
        }
        guard let exprValue = r.value("expr") else { throw r.missing("expr", "an aggregation expression of $$value") }
        let expr = try Expr.parse(exprValue, at: r.location.appending("expr"))
        let inverse = try r.value("inverse").map { try Expr.parse($0, at: r.location.appending("inverse")) }
        let inverseExact = try r.optionalBool("inverseExact") ?? false
        if inverseExact && inverse == nil {
            throw StrataError.badInput("inverseExact needs an inverse", at: r.location.appending("inverseExact"))
        }
        let monotone = try r.optionalString("monotone").map { text -> Monotonicity in
            guard let m = Monotonicity(rawValue: text) else {
                throw StrataError.badInput("monotone must be \"increasing\" or \"decreasing\"", at: r.location.appending("monotone"))
            }
            return m
        }
        if monotone != nil && inverse == nil {
            throw StrataError.badInput("monotone needs an inverse (to find the old bounds of a range)", at: r.location.appending("monotone"))
        }
        if monotone != nil {
            // A claim the planner bounds stored values with: refused where the stored
            // values may not be ordered like the converted ones (another type class).
            for (path, leaf) in ConversionTypeClass.leaves(expr) where leaf.freeVariables.contains("value") {
                if let reason = ConversionTypeClass.changeReason(leaf) {
                    let part = path.isEmpty ? "'expr'" : "'expr.\(path.joined(separator: "."))'"
                    throw StrataError.badInput(
                        "monotone cannot be trusted: \(part) may change the value's type: \(reason). "
                            + "Remove \"monotone\" (range predicates are then answered exactly, without an index on the old field)",
                        at: r.location.appending("monotone"))
                }
            }
            if let m = monotone, let broken = Self.sampledCounterexample(expr, monotone: m) {
                throw StrataError.badInput("monotone cannot be trusted: \(broken)", at: r.location.appending("monotone"))
            }
        }
        let ifMissing = try r.optionalString("ifMissing") ?? "skip"
        guard ifMissing == "skip" || ifMissing == "evaluate" else {
            throw StrataError.badInput("ifMissing must be \"skip\" or \"evaluate\"", at: r.location.appending("ifMissing"))
        }
        let onError = try r.optionalString("onError").map { text -> ConversionErrorPolicy in
            guard let p = ConversionErrorPolicy(rawValue: text) else {
                throw StrataError.badInput("onError must be one of fail, null, keep, skip; got '\(text)'", at: r.location.appending("onError"))
            }
            return p
        } ?? .fail
        var failureTest: Expr?
        switch ConversionFailureTest.test(expr) {
        case .none: break
        case .test(let t): failureTest = t
        case .unliftable(let why):
            if onError != .fail {
                throw StrataError.badInput("onError \"\(onError.rawValue)\" cannot be applied: \(why); convert the value first (one convert), then compute (another)",
                                           at: r.location.appending("onError"))
            }
        }
        if (onError == .null || onError == .keep) && (monotone != nil || inverseExact) {
            throw StrataError.badInput(
                "onError \"\(onError.rawValue)\" cannot be combined with \(monotone != nil ? "monotone" : "inverseExact"): a \(onError == .null ? "null" : "kept") value is not ordered or inverted like the converted ones",
                at: r.location.appending("onError"))
        }
        return ConvertOperation(field: field, to: to, expr: expr, inverse: inverse, inverseExact: inverseExact,
                                monotone: monotone, skipWhenMissing: ifMissing == "skip",
                                overwrite: try r.optionalBool("overwrite") ?? false, onError: onError,
                                failureTest: failureTest, location: r.location)
    }

    /// A pair of sample inputs on which `expr` breaks the claimed order, described; nil
    /// when none does. The samples are numbers from -1e6 to 1e6 (and dates, as their
    /// milliseconds), evaluated with `$$value` bound; inputs the expression rejects are
    /// skipped. A check, not a proof: the planner's bounds still rely on the claim.
    static func sampledCounterexample(_ expr: Expr, monotone: Monotonicity) -> String? {
        let numbers: [Double] = [-1e6, -1000, -10, -1.5, -1, -0.25, 0, 0.5, 1, 2, 10, 1000, 1e6]
        let samples: [[BSON]] = [numbers.map { .double($0) },
                                 numbers.map { .date(Int64($0) * 86_400_000) }]
        for inputs in samples {
            let outputs = inputs.map { v in (v, (try? Evaluator.evaluate(expr, [:], Variables(["value": v]))) ?? nil) }
                .compactMap { v, out in out.map { (v, $0) } }
            for (a, b) in zip(outputs, outputs.dropFirst()) {
                let c = BSONOrder.compare(a.1, b.1)
                if (monotone == .increasing && c > 0) || (monotone == .decreasing && c < 0) {
                    return "'expr' gives \(ExtendedJSON.string(a.1)) for \(ExtendedJSON.string(a.0)) and \(ExtendedJSON.string(b.1)) for the larger \(ExtendedJSON.string(b.0)): it is not \(monotone.rawValue). Fix the claim, or remove \"monotone\" (range predicates are then answered exactly, without an index on the old field)"
                }
            }
        }
        return nil
    }

    /// `expr` with the `onError` policy applied to values its conversions reject (what the
    /// server computes; `$$value` is the old value, `id` the document's `_id`).
    func policyExpression(id: Expr) -> Expr {
        guard let failureTest else { return expr }
        let instead: Expr
        switch onError {
        case .null: instead = .literal(.null)
        case .keep: instead = .variable("value", [])
        // The document is filtered out before anything reads the value (`serverStages`,
        // `Lens.serverChecks`): null only keeps an expression from failing meanwhile.
        case .skip: instead = .literal(.null)
        case .fail:
            let idText: Expr = .op("$convert", .named([("input", id), ("to", .literal("string")),
                                                       ("onError", .literal("(not a string)")), ("onNull", .literal("null"))]))
            instead = .op("$toInt", .positional([.op("$concat", .positional([
                .literal(.string(LensGuard.marker + "document _id ")), idText,
                .literal(.string(": \(name): \(rejectionMessage) [at \(location)]")),
            ]))]))
        }
        return .op("$cond", .positional([failureTest, instead, expr]))
    }

    var rejectionMessage: String {
        "'\(DocumentPaths.join(field))' holds a value the conversion rejects (onError: fail)"
    }

    /// `expr` (with its `onError` policy) over the older document: `$$value` replaced by the old field.
    var oldExpression: Expr { over(policyExpression(id: .fieldPath(["_id"]))) }

    /// `e` over the older document: `$$value` replaced by the old field.
    func over(_ e: Expr) -> Expr { e.rewritingVariable("value") { rest in .fieldPath(field + rest) } }

    /// `oldExpression`, missing when the field is missing (unless ifMissing is "evaluate").
    func guarded(_ e: Expr) -> Expr {
        guard skipWhenMissing else { return e }
        return .op("$cond", .positional([
            .op("$eq", .positional([.op("$type", .positional([.fieldPath(field)])), .literal("missing")])),
            .variable("REMOVE", []),
            e,
        ]))
    }

    package var changesPrimaryKey: Bool { field == ["_id"] }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        let old = DocumentPaths.get(doc, field)
        var new: BSON?
        if old != nil || !skipWhenMissing {
            do {
                // The same test the server runs (`policyExpression`), then the policy.
                if let failureTest, try Evaluator.evaluate(over(failureTest), doc) == .bool(true) {
                    switch onError {
                    case .fail: throw failure(rejectionMessage)
                    case .null: new = .null
                    case .keep: new = old
                    case .skip:
                        throw DocumentSkipped(id: doc["_id"], location: location,
                                              message: "document \(doc["_id"].map { "_id " + ExtendedJSON.string($0) } ?? "(without _id)") is left out: \(name): '\(DocumentPaths.join(field))' holds a value the conversion rejects (onError: skip)")
                    }
                } else {
                    new = try Evaluator.evaluate(over(expr), doc)
                }
            } catch let e as StrataError where e.kind != .upgradeFailed {
                throw failure("'\(DocumentPaths.join(field))' = \(old.map { ExtendedJSON.string($0) } ?? "missing"): \(e.message)")
            }
        }
        if to == field {
            let index = doc.index(forKey: field[0])
            DocumentPaths.put(&doc, to, nil)
            DocumentPaths.put(&doc, to, new, at: field.count == 1 ? index : nil)
        } else {
            let t = DocumentPaths.take(&doc, field)
            let sameParent = DocumentPaths.parent(field) == DocumentPaths.parent(to)
            DocumentPaths.put(&doc, to, nil)
            DocumentPaths.put(&doc, to, new, at: sameParent ? t?.index : nil)
        }
    }

    package var serverStages: [BSON]? {
        var skip: [BSON] = []
        if onError == .skip, let failureTest {
            skip = [["$match": ["$expr": .document(["$not": .array([over(failureTest).bson])])]]]
        }
        var stages: [BSON] = guardStages + skip + [["$set": .document(Document([(DocumentPaths.join(to), guarded(oldExpression).bson)]))]]
        if to != field { stages.append(["$unset": .string(DocumentPaths.join(field))]) }
        return stages
    }

    package func source(of path: [String]) -> PathSource {
        if DocumentPaths.isWithin(path, to) {
            var rest = Array(path.dropFirst(to.count))
            var e = oldExpression
            // Descend into an object expression: {value: ..., currency: "USD"}.currency is "USD"
            // (not through an onError policy: the whole value is replaced when it applies).
            while failureTest == nil, let key = rest.first, case .object(let pairs) = e {
                guard let sub = pairs.first(where: { $0.0 == key }) else { return .missing }
                e = sub.1
                rest.removeFirst()
            }
            return .computed(guarded(e), rest: rest)
        }
        if to != field && DocumentPaths.isWithin(path, field) { return .missing }
        if DocumentPaths.isWithin(to, path) || DocumentPaths.isWithin(field, path) {
            return .untranslatable("the whole of '\(DocumentPaths.join(path))' changes shape in \(name) at \(location)")
        }
        return .path(path)
    }

    package var invertibility: Invertibility {
        guard inverse != nil else { return .impossible("no inverse expression is declared") }
        return inverseExact ? .exact : .lossy("the inverse expression is not declared exact (inverseExact)")
    }

    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        guard let inverse else { throw failure("cannot undo: no inverse expression is declared") }
        let newValue = DocumentPaths.get(doc, to)
        var old: BSON?
        if newValue != nil || !skipWhenMissing {
            let e = inverse.rewritingVariable("value") { rest in .fieldPath(to + rest) }
            old = try Evaluator.evaluate(e, doc)
        }
        if to == field {
            let index = doc.index(forKey: field[0])
            DocumentPaths.put(&doc, field, nil)
            DocumentPaths.put(&doc, field, old, at: field.count == 1 ? index : nil)
        } else {
            let t = DocumentPaths.take(&doc, to)
            let sameParent = DocumentPaths.parent(field) == DocumentPaths.parent(to)
            DocumentPaths.put(&doc, field, old, at: sameParent ? t?.index : nil)
        }
    }

    package var removes: [[String]] { to == field ? [] : [field] }
    package var writes: [[String]] { [to] }
    package var guards: [LensGuard] {
        LensGuard.standard(reads: reads, removes: removes, writes: writes,
                           extra: overwrite || to == field ? [] : [LensGuard.overwrite(to)])
    }

    package var reads: [[String]] {
        var paths: Set<[String]> = [field]
        _ = over(expr).rewritingFieldPaths { p, _ in paths.insert(p); return .fieldPath(p) }
        return Array(paths)
    }
}
