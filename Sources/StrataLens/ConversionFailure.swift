import StrataEvaluator

/// What a `convert` does with a value its expression's conversions reject (`"N/A"` under
/// `$toDouble`): the lens says it per operation with `onError`.
package enum ConversionErrorPolicy: String, Sendable, CaseIterable {
    /// The document is not upgraded (`.upgradeFailed`, naming its `_id` and the lens place),
    /// in Swift and on the server alike. The default.
    case fail
    /// The new value is null.
    case null
    /// The new value is the stored value, unconverted.
    case keep
    /// The document is left out of every answer (`DocumentSkipped` in Swift, a `$match` on
    /// the server; queries warn that documents may be left out).
    case skip
}

/// The test "does evaluating this expression meet a conversion that rejects its input",
/// written as an aggregation expression, so Swift and the server decide it the same way.
///
/// The conversions are `$toInt $toLong $toDouble $toDecimal $toDate $toObjectId $toBool
/// $toString`, and `$convert`/`$dateFromString` without their own `onError`. Each is
/// tested by the same conversion with a sentinel `onError`; a conversion inside a `$cond`
/// or `$switch` branch is tested only when its branch is taken (the condition is evaluated
/// again). Not liftable (the reason says why): a conversion whose input reads a variable
/// the expression binds (`$let`, `$map`...), or one in a later argument of `$ifNull`,
/// `$and`, `$or` (evaluated only sometimes, differently per operator).
enum ConversionFailureTest {
    static let targets: [String: String] = [
        "$toInt": "int", "$toLong": "long", "$toDouble": "double", "$toDecimal": "decimal", "$toDate": "date",
        "$toObjectId": "objectId", "$toBool": "bool", "$toString": "string",
    ]
    static let sentinel: Expr = .literal(["strata": "conversion rejected"])
    static let shortCircuit: Set<String> = ["$ifNull", "$and", "$or", "$coalesce"]

    enum Outcome {
        /// No conversion that can reject a value.
        case none
        case test(Expr)
        case unliftable(String)
    }

    static func test(_ e: Expr) -> Outcome {
        var problem: String?
        let t = test(e, &problem)
        if let problem { return .unliftable(problem) }
        return t.map { .test($0) } ?? .none
    }

    static func any(_ tests: [Expr]) -> Expr? {
        tests.isEmpty ? nil : tests.count == 1 ? tests[0] : .op("$or", .positional(tests))
    }

    /// The test for `e`, nil when `e` has no conversion; `problem` is set when one cannot be lifted.
    static func test(_ e: Expr, _ problem: inout String?) -> Expr? {
        guard case .op(let name, let args) = e else {
            if case .array(let items) = e { return any(items.compactMap { test($0, &problem) }) }
            if case .object(let pairs) = e { return any(pairs.compactMap { test($0.1, &problem) }) }
            return nil
        }
        if let leaf = rejectingConversion(name, args) {
            // Inner conversions first: `$or` stops at the first that rejects, so the outer
            // one's input is only evaluated when it can be.
            var tests = args.children.compactMap { test($0, &problem) }
            let bound = leaf.freeVariables.subtracting(["value"])
            if !bound.isEmpty {
                problem = problem ?? "\(name) reads the variable '$$\(bound.sorted()[0])' that the expression binds"
            }
            tests.append(.op("$eq", .positional([leaf, sentinel])))
            return any(tests)
        }
        if Expr.bindsVariables(name) {
            // A conversion inside `$let`/`$map`/... reading only outer values could be lifted;
            // one reading the bound names cannot. Both are refused for simplicity's sake only
            // when they read bound names.
            var inner: String?
            let t = args.children.compactMap { test($0, &inner) }
            if inner != nil || !t.allSatisfy({ $0.freeVariables.subtracting(["value"]).isEmpty }) {
                problem = problem ?? "a conversion inside \(name) reads the variables it binds"
                return nil
            }
            return any(t)
        }
        switch name {
        case "$cond":
            let parts: [Expr]
            if case .named = args { parts = ["if", "then", "else"].compactMap { args[$0] } } else { parts = args.positional }
            guard parts.count == 3 else { return any(args.children.compactMap { test($0, &problem) }) }
            let c = test(parts[0], &problem), a = test(parts[1], &problem), b = test(parts[2], &problem)
            guard a != nil || b != nil else { return c }
            let branch: Expr = .op("$cond", .positional([parts[0], a ?? .literal(false), b ?? .literal(false)]))
            return any([c, branch].compactMap { $0 })
        case "$switch":
            guard case .array(let branches)? = args["branches"] else { return nil }
            var cases: [(Expr, Expr?)] = []
            var tests: [Expr] = []
            for b in branches {
                guard case .object(let pairs) = b, let c = pairs.first(where: { $0.0 == "case" })?.1,
                      let then = pairs.first(where: { $0.0 == "then" })?.1 else { continue }
                if let t = test(c, &problem) { tests.append(t) }
                cases.append((c, test(then, &problem)))
            }
            let fallback = args["default"].flatMap { test($0, &problem) }
            guard cases.contains(where: { $0.1 != nil }) || fallback != nil else { return any(tests) }
            // The branch taken is the first case that holds (the cases' own tests come first).
            let chosen: Expr = .op("$switch", .named([
                ("branches", .array(cases.map { .object([("case", $0.0), ("then", $0.1 ?? .literal(false))]) })),
                ("default", fallback ?? .literal(false)),
            ]))
            return any(tests + [chosen])
        default:
            if shortCircuit.contains(name) {
                let parts = args.children
                if parts.dropFirst().contains(where: { test($0, &problem) != nil }) {
                    problem = problem ?? "a conversion in a later argument of \(name) (evaluated only sometimes)"
                    return nil
                }
                return parts.first.flatMap { test($0, &problem) }
            }
            return any(args.children.compactMap { test($0, &problem) })
        }
    }

    /// The conversion with the sentinel as its `onError`, when `name` is one that can reject.
    static func rejectingConversion(_ name: String, _ args: ExprArgs) -> Expr? {
        if let to = targets[name] {
            guard let input = args.positional.first ?? args.children.first else { return nil }
            return .op("$convert", .named([("input", input), ("to", .literal(.string(to))), ("onError", sentinel)]))
        }
        guard name == "$convert" || name == "$dateFromString", case .named(let pairs) = args, args["onError"] == nil else { return nil }
        return .op(name, .named(pairs + [("onError", sentinel)]))
    }
}
