import StrataBSON
import StrataEvaluator

/// Where the value at a path of a newer document comes from in an older one.
/// The planner uses it to translate queries; the repository to know what a
/// projection must fetch.
public struct PathSource: Sendable, Equatable {
    package enum Value: Sendable, Equatable {
        /// Exactly the older document's value at this path (missing iff missing there),
        /// so predicates, sort keys and indexes on it translate as they are.
        case path([String])
        /// The value of `expr` evaluated on the older document (missing when it
        /// evaluates to missing), then `rest` descended with MongoDB's field-path
        /// rules (through arrays). Exact in expressions; predicates need the value
        /// materialised first.
        case computed(Expr, rest: [String])
        /// No per-path translation (e.g. the whole of a sub-document some of whose
        /// fields change): run the server-side upgrade stages first, then read the path.
        case untranslatable(String)
        /// Only Swift can compute it (an application-defined function); the reason says which.
        case swiftOnly(String)
    }

    package var value: Value
    /// Lookups that must run on the server before `value` can be read (each adds a
    /// temporary field that `value` refers to).
    package var lookups: [LookupPrerequisite]

    package init(_ value: Value, lookups: [LookupPrerequisite] = []) {
        self.value = value
        self.lookups = lookups
    }

    package static func path(_ p: [String]) -> PathSource { PathSource(.path(p)) }
    package static func computed(_ e: Expr, rest: [String] = []) -> PathSource { PathSource(.computed(e, rest: rest)) }
    package static func swiftOnly(_ why: String) -> PathSource { PathSource(.swiftOnly(why)) }
    package static func untranslatable(_ why: String) -> PathSource { PathSource(.untranslatable(why)) }
    /// Always missing.
    package static var missing: PathSource { .computed(.variable("REMOVE", [])) }
    package static func constant(_ v: BSON) -> PathSource { .computed(.literal(v)) }

    /// True when the value is exactly a path of the older document.
    package var isPath: Bool { if case .path = value, lookups.isEmpty { return true }; return false }

    /// The value as an expression over the older document (nil for `swiftOnly` and `untranslatable`).
    package var expression: Expr? {
        switch value {
        case .path(let p): return .fieldPath(p)
        case .computed(let e, let rest):
            if rest.isEmpty { return e }
            if case .literal(let v) = e {
                if let t = DocumentPaths.traverse(v, rest) { return .literal(t) }
                return .variable("REMOVE", [])
            }
            return .op("$let", .named([("vars", .object([("strata_v", e)])), ("in", .variable("strata_v", rest))]))
        case .swiftOnly, .untranslatable: return nil
        }
    }
}

/// A `$lookup` that must run before a looked-up field can be read on the server.
package struct LookupPrerequisite: Sendable, Equatable {
    package var from: String
    package var localField: [String]
    package var foreignField: String
    /// The temporary field the lookup writes its matches to.
    package var temporaryField: String

    package var stage: BSON {
        ["$lookup": ["from": .string(from), "localField": .string(localField.joined(separator: ".")),
                     "foreignField": .string(foreignField), "as": .string(temporaryField)]]
    }
}
