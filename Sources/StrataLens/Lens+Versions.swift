import StrataEvaluator

/// What a stored document's version field says.
public enum StoredVersion: Sendable, Equatable, Hashable {
    /// A version the lens knows (absent → `absentMeans`; an integral double counts).
    case known(Int)
    /// An integer the lens does not know.
    case unknown(Int)
    /// Not an integer at all: a string, 1.5, null, an array...
    case invalid(BSON)
}

extension Lens {
    /// The version of a stored document.
    public func storedVersion(of doc: Document) -> StoredVersion {
        guard let v = doc[versionField] else { return .known(absentMeans) }
        guard let i = Self.integerVersion(v) else { return .invalid(v) }
        return knownVersions.contains(i) ? .known(i) : .unknown(i)
    }

    /// An integer version value (int32, int64, or an integral double or decimal,
    /// which the server's equality matches too); nil otherwise.
    public static func integerVersion(_ v: BSON) -> Int? {
        switch v {
        case .int32(let i): return Int(i)
        case .int64(let i): return Int(exactly: i)
        case .double(let d) where d.isFinite && d.rounded() == d && abs(d) < 1e15: return Int(d)
        case .decimal128(let d):
            guard let x = d.doubleValue, x.isFinite, x.rounded() == x, abs(x) < 1e15,
                  Decimal128(String(Int(x))).map({ BSONOrder.compare(.decimal128($0), v) == 0 }) == true else { return nil }
            return Int(x)
        default: return nil
        }
    }

    /// A query matching the documents stored at `version`: the version field equal
    /// to it, or absent (or null, which MongoDB's equality cannot tell from absent) for
    /// the version absence means. Index-friendly; exact once `filterForUnknownVersions`
    /// matches nothing (no arrays, no nulls). `strict` adds the type tests that keep it
    /// exact even when such documents exist (an array holding the version, a null),
    /// at the price of index use on some servers.
    public func filter(forVersion version: Int, strict: Bool = false) -> Document {
        let k = BSON.int32(Int32(version))
        if strict {
            let equal: Document = [versionField: ["$eq": k, "$not": ["$type": "array"]]]
            guard version == absentMeans else { return equal }
            return ["$or": [[versionField: ["$exists": false]], .document(equal)]]
        }
        if version == absentMeans { return [versionField: ["$in": [.null, k]]] }
        return [versionField: k]
    }

    /// An aggregation expression true exactly for documents stored at `version`
    /// (for guards inside `$expr`; absent and null count as `absentMeans`).
    public func versionExpression(_ version: Int) -> Expr {
        let k = Expr.literal(.int32(Int32(version)))
        if version == absentMeans {
            return .op("$in", .positional([.op("$ifNull", .positional([.fieldPath([versionField]), .literal(.null)])),
                                           .array([.literal(.null), k])]))
        }
        return .op("$eq", .positional([.fieldPath([versionField]), k]))
    }

    /// A query matching every document at a version the lens does not know
    /// (unknown integers and non-integers, null and arrays included). Written as a
    /// union of ranges and type tests, each of which an index on the version field
    /// can serve, rather than as the negation of the known versions.
    public var filterForUnknownVersions: Document {
        let f = versionField
        var parts: [BSON] = [
            [f: ["$lt": .int32(Int32(oldest))]],
            [f: ["$gt": .int32(Int32(newest))]],
            [f: .double(.nan)],
        ]
        for v in oldest..<newest {
            parts.append([f: ["$gt": .int32(Int32(v)), "$lt": .int32(Int32(v + 1))]])
        }
        let nonNumeric: [BSON] = ["string", "object", "array", "binData", "undefined", "objectId", "bool", "date", "null",
                                  "regex", "dbPointer", "javascript", "symbol", "javascriptWithScope", "timestamp",
                                  "minKey", "maxKey"]
        parts.append([f: ["$type": .array(nonNumeric)]])
        return ["$or": .array(parts)]
    }

    /// The steps that take `version` to `target` (default: the newest).
    public func steps(from version: Int, to target: Int? = nil) -> ArraySlice<LensStep> {
        let target = target ?? newest
        return steps[...].filter { $0.from >= version && $0.to <= target }[...]
    }

    func operations(from version: Int, to target: Int? = nil) -> [any LensOperation] {
        steps(from: version, to: target).flatMap { $0.allOperations(versionField: versionField, absentMeans: absentMeans) }
    }

    /// Application-defined functions the lens uses that `functions` does not bind.
    public func unboundFunctions(_ functions: LensFunctions) -> [(function: String, location: Location)] {
        steps.flatMap(\.operations).compactMap { op in
            guard let c = op as? CustomOperation, functions[c.function] == nil else { return nil }
            return (c.function, c.location)
        }
    }
}
