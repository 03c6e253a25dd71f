import StrataBSON
import StrataEvaluator

/// Whether a `convert` expression can change the BSON type class of the value
/// (`$$value`), checked before a `monotone` claim is trusted.
///
/// A monotone claim lets the planner bound the *stored* values with the order of
/// the stored type: `f(x) >= c` becomes `x > b`. That is only sound when stored
/// values are ordered like their converted values, which fails as soon as the
/// class changes: `$toDouble` of the strings `"10"` and `"9"` orders them the
/// other way round (`"10" < "9"` as strings). The analysis is a small abstract
/// evaluation over type classes; an operator it does not know makes it answer
/// "cannot tell", and the claim is refused then too.
enum ConversionTypeClass: String, CaseIterable, Hashable {
    case number, string, date, bool, objectId, null, object, array, other

    var name: String {
        switch self {
        case .number: return "a number"
        case .string: return "a string"
        case .date: return "a date"
        case .bool: return "a boolean"
        case .objectId: return "an ObjectId"
        case .null: return "null"
        case .object: return "a document"
        case .array: return "an array"
        case .other: return "a value of another type"
        }
    }

    static func of(_ v: BSON) -> ConversionTypeClass {
        if v.isNumber { return .number }
        switch v {
        case .string: return .string
        case .date: return .date
        case .bool: return .bool
        case .objectId: return .objectId
        case .null: return .null
        case .document: return .object
        case .array: return .array
        default: return .other
        }
    }

    /// The outcome of an expression for one class of `$$value`: the classes it can
    /// produce (`nil` in the set: it fails, which is never a silently wrong order).
    typealias Outcome = Set<ConversionTypeClass?>

    /// Why `expr` (over `$$value`) may not keep the value's type class, or nil when
    /// it provably does (or fails) for every input class.
    static func changeReason(_ expr: Expr) -> String? {
        for input in ConversionTypeClass.allCases where input != .other {
            switch outcome(expr, input: input) {
            case .failure(let unknown):
                return "strata cannot tell which type \(unknown.what) gives (monotone is checked only for arithmetic on "
                    + "numbers and dates: $add, $subtract, $multiply, $divide, $abs, $ceil, $floor, $round, $trunc, "
                    + "$sqrt, $exp, $ln, $log10, $pow, $dateAdd, $dateSubtract, with constants)"
            case .success(let out):
                for o in out.compactMap({ $0 }) where o != input && !(o == .null && input == .null) {
                    return "for a stored value that is \(input.name) it gives \(o.name), and values of different "
                        + "types are not ordered like each other (a string is not ordered like its numbers: \"10\" < \"9\")"
                }
            }
        }
        return nil
    }

    struct Unknown: Error { let what: String }

    static func outcome(_ e: Expr, input: ConversionTypeClass) -> Result<Outcome, Unknown> {
        Result { try eval(e, input) }.mapError { $0 as? Unknown ?? Unknown(what: "the expression") }
    }

    private static func eval(_ e: Expr, _ input: ConversionTypeClass) throws -> Outcome {
        switch e {
        case .variable("value", let rest) where rest.isEmpty: return [input]
        case .variable(let name, let rest):
            throw Unknown(what: "$$" + ([name] + rest).joined(separator: "."))
        case .fieldPath(let p): throw Unknown(what: "the field '$\(p.joined(separator: "."))'")
        case .literal(let v): return [of(v)]
        case .array: return [.array]
        case .object: return [.object]
        case .op(let name, let args):
            let f = try rule(name)
            let operands: [Expr]
            switch args {
            case .positional(let a): operands = a
            case .named:
                // The date operators: the value's argument first, then the others
                // (their classes are checked too); onError / onNull can give anything.
                if args["onError"] != nil || args["onNull"] != nil { throw Unknown(what: name + " with onError or onNull") }
                switch name {
                case "$dateAdd", "$dateSubtract": operands = [args["startDate"], args["unit"], args["amount"]].compactMap { $0 }
                case "$dateFromString": operands = [args["dateString"]].compactMap { $0 }
                case "$dateToString": operands = [args["date"]].compactMap { $0 }
                default: throw Unknown(what: name)
                }
            }
            var sets: [[ConversionTypeClass?]] = []
            for o in operands { sets.append(Array(try eval(o, input))) }
            var out: Outcome = []
            // Every combination of operand classes (a handful).
            func combine(_ i: Int, _ chosen: [ConversionTypeClass]) {
                if i == sets.count { out.insert(f(chosen)); return }
                for c in sets[i] {
                    guard let c else { out.insert(nil); continue }  // an operand fails: so does the whole
                    combine(i + 1, chosen + [c])
                }
            }
            combine(0, [])
            return out
        }
    }

    /// The class an operator gives for operand classes (nil: it fails).
    private static func rule(_ name: String) throws -> ([ConversionTypeClass]) -> ConversionTypeClass? {
        func numeric(_ cs: [ConversionTypeClass]) -> ConversionTypeClass? {
            if cs.contains(.null) { return .null }
            return cs.allSatisfy { $0 == .number } ? .number : nil
        }
        switch name {
        case "$add":
            return { cs in
                if cs.contains(.null) { return .null }
                let dates = cs.filter { $0 == .date }.count
                guard cs.allSatisfy({ $0 == .number || $0 == .date }), dates <= 1 else { return nil }
                return dates == 1 ? .date : .number
            }
        case "$subtract":
            return { cs in
                guard cs.count == 2 else { return nil }
                if cs.contains(.null) { return .null }
                switch (cs[0], cs[1]) {
                case (.number, .number), (.date, .date): return .number
                case (.date, .number): return .date
                default: return nil
                }
            }
        case "$multiply", "$divide", "$mod", "$pow", "$abs", "$ceil", "$floor", "$round", "$trunc",
             "$sqrt", "$exp", "$ln", "$log10", "$log":
            return numeric
        case "$dateAdd", "$dateSubtract":
            return { cs in
                guard cs.count == 3 else { return nil }
                if cs.contains(.null) { return .null }
                return cs[0] == .date && cs[1] == .string && cs[2] == .number ? .date : nil
            }
        case "$dateFromString":
            return { cs in cs.first == .null ? .null : cs.first == .string ? .date : nil }
        case "$dateToString":
            return { cs in cs.first == .null ? .null : cs.first == .date || cs.first == .objectId ? .string : nil }
        case "$toDouble", "$toInt", "$toLong", "$toDecimal":
            return { cs in
                switch cs.first {
                case .null?: return .null
                case .number?, .string?, .bool?, .date?: return .number
                default: return nil
                }
            }
        case "$toString":
            return { cs in
                switch cs.first {
                case .null?: return .null
                case .number?, .string?, .bool?, .date?, .objectId?: return .string
                default: return nil
                }
            }
        case "$toDate":
            return { cs in
                switch cs.first {
                case .null?: return .null
                case .number?, .string?, .date?, .objectId?: return .date
                default: return nil
                }
            }
        default:
            throw Unknown(what: name)
        }
    }

    /// The parts of a convert expression a path can come from: an object expression's
    /// leaves (`{value: {$divide: ["$$value", 100]}, currency: "USD"}`), else the whole.
    static func leaves(_ e: Expr, at path: [String] = []) -> [([String], Expr)] {
        if case .object(let pairs) = e { return pairs.flatMap { leaves($0.1, at: path + [$0.0]) } }
        return [(path, e)]
    }
}
