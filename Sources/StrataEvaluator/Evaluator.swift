import Foundation
import StrataBSON
import StrataLibBSON

/// Variable bindings for an evaluation: user variables (a pipeline's `let`, `$lookup`'s
/// `let`) and the value of `$$NOW`.
package struct Variables: Sendable {
    package var values: [String: BSON]
    /// `$$NOW`, milliseconds since the epoch (fixed for a whole query, as on the server).
    package var now: Int64

    package init(_ values: [String: BSON] = [:], now: Int64? = nil) {
        self.values = values
        self.now = now ?? Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// Evaluates parsed expressions with mongod's semantics. Stateless; `Sendable`.
///
/// `nil` results are *missing* (e.g. `$$REMOVE`, a missing field); callers decide what a
/// missing value means in their context (omitted field, null in an array...).
package struct Evaluator: Sendable {
    package init() {}

    /// Evaluates `e` with `doc` as `$$ROOT` and `$$CURRENT`.
    package func evaluate(_ e: Expr, _ doc: Document, _ vars: Variables = Variables()) throws -> BSON? {
        try EvalContext(root: doc, variables: vars).eval(e)
    }

    /// Evaluates `e` with `doc` as `$$ROOT` and `$$CURRENT`.
    package static func evaluate(_ e: Expr, _ doc: Document, _ vars: Variables = Variables()) throws -> BSON? {
        try EvalContext(root: doc, variables: vars).eval(e)
    }
}

typealias OpFn = @Sendable (EvalContext, ExprArgs) throws -> BSON?

/// The evaluation state for one document: `$$ROOT`, `$$CURRENT` and the bound variables.
final class EvalContext {
    let root: Document
    var current: BSON
    var vars: [String: BSON?]
    let now: Int64

    init(root: Document, variables: Variables) {
        self.root = root
        self.current = .document(root)
        self.vars = variables.values.mapValues { Optional($0) }
        self.now = variables.now
    }

    init(root: Document, vars: [String: BSON?], now: Int64) {
        self.root = root
        self.current = .document(root)
        self.vars = vars
        self.now = now
    }

    static let operators: [String: OpFn] = {
        var t: [String: OpFn] = [:]
        for table in [arithmeticOps, logicOps, stringOps, arrayOps, setOps, objectOps, typeOps, dateOps, accumulatorExprOps] {
            t.merge(table) { a, _ in a }
        }
        return t
    }()

    func eval(_ e: Expr) throws -> BSON? {
        switch e {
        case .literal(let v): return v
        case .fieldPath(let p): return EvalContext.path(p, in: current)
        case .variable(let name, let p):
            let base: BSON?
            switch name {
            case "CURRENT": base = current
            case "ROOT": base = .document(root)
            case "REMOVE": return nil
            case "NOW": base = .date(now)
            default:
                guard let v = vars[name] else {
                    if OperatorTable.builtinVariables.contains(name) {
                        throw StrataError.evaluation("$$\(name) is only meaningful inside $redact")
                    }
                    throw StrataError.evaluation("Use of undefined variable: \(name)")
                }
                base = v
            }
            if p.isEmpty { return base }
            return EvalContext.path(p, in: base)
        case .array(let items):
            var out: [BSON] = []
            out.reserveCapacity(items.count)
            for i in items { out.append(try eval(i) ?? .null) }
            return .array(out)
        case .object(let fields):
            var d = Document()
            for (k, x) in fields { if let v = try eval(x) { d.append(k, v) } }
            return .document(d)
        case .op(let name, let args):
            guard let f = EvalContext.operators[name] else {
                throw StrataError.unsupported("\(name) is not supported by strata's evaluator")
            }
            return try f(self, args)
        }
    }

    /// Evaluates with a variable bound, restoring the previous binding afterwards.
    @inline(__always)
    func with<T>(_ name: String, _ value: BSON?, _ body: () throws -> T) rethrows -> T {
        let old = vars.updateValue(value, forKey: name)
        defer { if let old { vars[name] = old } else { vars.removeValue(forKey: name) } }
        return try body()
    }

    // MARK: field paths

    /// mongod's `ExpressionFieldPath::evaluatePath`: through documents; over an array, the
    /// rest of the path is applied to each element that is a document, missing results
    /// skipped, giving an array. Non-document elements (nested arrays included) are skipped.
    static func path(_ p: [String], in base: BSON?) -> BSON? {
        guard let base else { return nil }
        if p.isEmpty { return base }
        switch base {
        case .document(let d): return path(p[...], in: d)
        case .array(let a): return pathArray(p[...], a)
        default: return nil
        }
    }

    static func path(_ p: ArraySlice<String>, in d: Document) -> BSON? {
        guard let v = d[p.first!] else { return nil }
        if p.count == 1 { return v }
        switch v {
        case .document(let sub): return path(p.dropFirst(), in: sub)
        case .array(let a): return pathArray(p.dropFirst(), a)
        default: return nil
        }
    }

    static func pathArray(_ p: ArraySlice<String>, _ a: [BSON]) -> BSON {
        var out: [BSON] = []
        for x in a {
            guard case .document(let d) = x else { continue }
            if let v = path(p, in: d) { out.append(v) }
        }
        return .array(out)
    }

    // MARK: argument helpers

    @inline(__always)
    func arg(_ args: ExprArgs, _ i: Int) throws -> BSON? {
        guard case .positional(let a) = args else { return nil }
        return i < a.count ? try eval(a[i]) : nil
    }

    @inline(__always)
    func named(_ args: ExprArgs, _ k: String) throws -> BSON? {
        guard let e = args[k] else { return nil }
        return try eval(e)
    }

    func evalAll(_ args: ExprArgs) throws -> [BSON?] {
        try args.positional.map { try eval($0) }
    }
}

/// mongod's type name of a possibly missing value.
@inlinable
func typeName(_ v: BSON?) -> String { v?.typeName ?? "missing" }

@inlinable
func evalError(_ m: String) -> StrataError { StrataError.evaluation(m) }

/// The `$type` display of a value for error messages.
func show(_ v: BSON?) -> String {
    guard let v else { return "missing" }
    return ExtendedJSON.string(v, mode: .relaxed)
}
