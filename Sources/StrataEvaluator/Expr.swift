import StrataBSON

/// A parsed aggregation expression.
///
/// - `literal`: constants and `{$literal: v}` (and `$const`).
/// - `fieldPath`: `"$a.b"`, relative to `$$CURRENT`.
/// - `variable`: `"$$name"` / `"$$name.a.b"` (ROOT, CURRENT, REMOVE, NOW, user variables,
///   `this`/`value` inside `$map`/`$filter`/`$reduce`...). The path may be empty.
/// - `array`, `object`: expression arrays and objects (`[ "$a", 1 ]`, `{x: "$a"}`).
/// - `op`: an operator with its arguments, positional (`{$add: [a, b]}`) or named
///   (`{$dateToString: {date: ..., format: ...}}`). Named arguments that are not
///   expressions (the `as` of `$map`/`$filter`, `sortBy` of `$sortArray`, `useLongestLength`
///   of `$zip`...) are kept as `.literal`; `$let`'s `vars` is an `.object` of the bound
///   expressions; `$switch`'s `branches` is an `.array` of `.object([("case", e), ("then", e)])`.
///
/// Build one with `Expr.parse(_:at:)`; write it back with `bson`; evaluate it with `Evaluator`.
public indirect enum Expr: Sendable, Equatable {
    case literal(BSON)
    case fieldPath([String])
    case variable(String, [String])
    case array([Expr])
    case object([(String, Expr)])
    case op(String, ExprArgs)

    public static func == (a: Expr, b: Expr) -> Bool {
        switch (a, b) {
        case (.literal(let x), .literal(let y)): return x == y
        case (.fieldPath(let x), .fieldPath(let y)): return x == y
        case (.variable(let x, let p), .variable(let y, let q)): return x == y && p == q
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.op(let x, let p), .op(let y, let q)): return x == y && p == q
        default: return false
        }
    }


}

/// The arguments of an operator expression.
public enum ExprArgs: Sendable, Equatable {
    case positional([Expr])
    case named([(String, Expr)])

    public static func == (a: ExprArgs, b: ExprArgs) -> Bool {
        switch (a, b) {
        case (.positional(let x), .positional(let y)): return x == y
        case (.named(let x), .named(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The positional arguments (empty for named).
    package var positional: [Expr] { if case .positional(let a) = self { return a }; return [] }

    /// A named argument.
    package subscript(name: String) -> Expr? {
        guard case .named(let pairs) = self else { return nil }
        for (k, v) in pairs where k == name { return v }
        return nil
    }

    /// Every sub-expression, in order.
    package var children: [Expr] {
        switch self {
        case .positional(let a): return a
        case .named(let p): return p.map(\.1)
        }
    }

    /// The same arguments with every sub-expression transformed.
    package func map(_ f: (Expr) throws -> Expr) rethrows -> ExprArgs {
        switch self {
        case .positional(let a): return .positional(try a.map(f))
        case .named(let p): return .named(try p.map { ($0.0, try f($0.1)) })
        }
    }
}

extension Expr {
    /// Every direct sub-expression, in order.
    package var children: [Expr] {
        switch self {
        case .literal, .fieldPath, .variable: return []
        case .array(let a): return a
        case .object(let f): return f.map(\.1)
        case .op(_, let args): return args.children
        }
    }

    /// The same node with each direct sub-expression transformed.
    package func mapChildren(_ f: (Expr) throws -> Expr) rethrows -> Expr {
        switch self {
        case .literal, .fieldPath, .variable: return self
        case .array(let a): return .array(try a.map(f))
        case .object(let fs): return .object(try fs.map { ($0.0, try f($0.1)) })
        case .op(let n, let args): return .op(n, try args.map(f))
        }
    }
}
