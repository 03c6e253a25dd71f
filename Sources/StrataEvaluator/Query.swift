import StrataBSON

/// A parsed query (`$match` / find filter).
///
/// `and` is both `$and` and the implicit conjunction of a filter document's fields; `field`
/// holds one path and the predicates written under it (all must hold, each with its own
/// implicit array traversal: `{a: {$gt: 1, $lt: 5}}` matches `{a: [0, 10]}`, as in mongod).
/// The structure is public so that a planner can walk it, translate paths, and rebuild it.
public indirect enum Query: Sendable, Equatable {
    case and([Query])
    case or([Query])
    case nor([Query])
    case expr(Expr)
    case field(path: String, [FieldPredicate])
    case alwaysTrue
    case alwaysFalse

    /// The path split into components.
    package static func components(_ path: String) -> [String] {
        path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }
}

/// A predicate on the values a path reaches.
public indirect enum FieldPredicate: Sendable, Equatable {
    /// `{a: v}` / `{a: {$eq: v}}`: equality (null also matches a missing path).
    case eq(BSON)
    case ne(BSON)
    case gt(BSON), gte(BSON), lt(BSON), lte(BSON)
    /// `$in`: values and regular expressions.
    case `in`([BSON])
    case nin([BSON])
    case exists(Bool)
    /// `$type`: the BSON type codes (`.number` matches every numeric type).
    case type([TypeSpec])
    case size(Int64)
    /// `$all` of values / regular expressions.
    case all([BSON])
    /// `$all` of `$elemMatch` objects.
    case allElemMatch([FieldPredicate])
    /// `{$elemMatch: {b: ..., c: ...}}`: some element (a document) matches the query.
    case elemMatchObject(Query)
    /// `{$elemMatch: {$gt: 1, $lt: 5}}`: some element satisfies every predicate.
    case elemMatchValue([FieldPredicate])
    /// `$not: {...}` (or `$not: /re/`, as `.not([.regex])`).
    case not([FieldPredicate])
    /// `{a: /re/}` / `{$regex, $options}`.
    case regex(BSONRegex)
    case mod(divisor: Int64, remainder: Int64)
    case bitsAllSet([Int]), bitsAllClear([Int]), bitsAnySet([Int]), bitsAnyClear([Int])

    public enum TypeSpec: Sendable, Hashable {
        case code(Int)
        case number
    }
}

extension Query {
    /// Every path the query constrains (not the ones inside `$expr`).
    package var paths: Set<String> {
        switch self {
        case .and(let qs), .or(let qs), .nor(let qs): return qs.reduce(into: Set<String>()) { $0.formUnion($1.paths) }
        case .field(let p, _): return [p]
        case .expr, .alwaysTrue, .alwaysFalse: return []
        }
    }

    /// The same query with every path translated (`$elemMatch` sub-queries are relative to
    /// the array elements and are left alone); `$expr` field paths go through `expr`.
    package func mappingPaths(_ path: (String) throws -> String, expr: (Expr) throws -> Expr = { $0 }) rethrows -> Query {
        switch self {
        case .and(let qs): return .and(try qs.map { try $0.mappingPaths(path, expr: expr) })
        case .or(let qs): return .or(try qs.map { try $0.mappingPaths(path, expr: expr) })
        case .nor(let qs): return .nor(try qs.map { try $0.mappingPaths(path, expr: expr) })
        case .field(let p, let preds): return .field(path: try path(p), preds)
        case .expr(let e): return .expr(try expr(e))
        case .alwaysTrue, .alwaysFalse: return self
        }
    }
}
