import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// What a stored document's version field says.
public enum StoredVersion: Sendable, Equatable, Hashable {
    /// A version the lens knows (absent → `absentMeans`; an integral double counts).
    case known(Int)
    /// An integer the lens does not know.
    case unknown(Int)
    /// Not an integer at all: a string, 1.5, an array...
    case invalid(BSON)

    /// A version the lens knows.
    public var isKnown: Bool {
        if case .known = self { return true }
        return false
    }
}

extension Lens {
    /// The version of a stored document.
    public func storedVersion(of doc: Document) -> StoredVersion {
        guard let v = doc[versionField], !BSON.isNullish(v) else { return .known(absentMeans) }
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
    /// to it, or absent (or null: strata reads an explicit null as absent, as MongoDB's
    /// equality and indexes cannot tell them apart) for the version absence means.
    /// Index-friendly; exact once `filterForUnknownVersions` matches nothing (no
    /// arrays). `strict` adds the type test that keeps it exact even when such
    /// documents exist (an array holding the version), at the price of index use on
    /// some servers.
    public func filter(forVersion version: Int, strict: Bool = false) -> Document {
        let k = BSON.int32(Int32(version))
        var condition: Document = version == absentMeans ? ["$in": [.null, k]] : ["$eq": k]
        guard strict else { return [versionField: version == absentMeans ? .document(condition) : k] }
        condition["$not"] = ["$type": "array"]
        return [versionField: .document(condition)]
    }

    /// `filter(forVersion:)` for several versions at once: `{v: {$in: [...]}}` (with
    /// null when the set holds the version absence means).
    public func filter(forVersions versions: [Int], strict: Bool = false) -> Document {
        if versions.count == 1 { return filter(forVersion: versions[0], strict: strict) }
        var condition: Document = ["$in": .array(versionValues(versions))]
        if strict { condition["$not"] = ["$type": "array"] }
        return [versionField: .document(condition)]
    }

    /// `versionExpression(_:)` for several versions at once.
    public func versionExpression(forVersions versions: [Int]) -> Expr {
        if versions.count == 1 { return versionExpression(versions[0]) }
        return .op("$in", .positional([.op("$ifNull", .positional([.fieldPath([versionField]), .literal(.null)])),
                                       .array(versionValues(versions).map { .literal($0) })]))
    }

    func versionValues(_ versions: [Int]) -> [BSON] {
        (versions.contains(absentMeans) ? [.null] : []) + versions.map { .int32(Int32($0)) }
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
    /// (unknown integers and non-integers, arrays included; null is read as absent). Written as a
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
        let nonNumeric: [BSON] = ["string", "object", "array", "binData", "objectId", "bool", "date",
                                  "regex", "dbPointer", "javascript", "symbol", "javascriptWithScope", "timestamp",
                                  "minKey", "maxKey"]
        parts.append([f: ["$type": .array(nonNumeric)]])
        return ["$or": .array(parts)]
    }

    /// The same set as `filterForUnknownVersions`, as separate queries each of which
    /// one bounded range of an ascending index on the version field answers (an `$or`
    /// of them is not planned as a union of index scans by every server): numbers
    /// below, between and above the known versions (bounds that exclude the known
    /// versions themselves, so no key of a known version is read), NaN, then one
    /// range per scalar type. The types no range can bound on every server (objects,
    /// arrays, regular expressions...) are `unusualVersionFilter`'s.
    public var unknownVersionProbes: [(what: String, filter: Document)] {
        let f = versionField
        func probe(_ what: String, _ condition: BSON) -> (what: String, filter: Document) {
            (what, Document([(f, condition)]))
        }
        // Bounds just beside each known version (SecantusDB reads every key equal to an
        // exclusive bound), except beside 0, where the next double is subnormal and
        // SecantusDB's ranges miss values: `$lt`/`$gt: 0` there.
        func above(_ k: Int) -> Document { k == 0 ? ["$gt": 0] : ["$gte": .double(Self.doubleAbove(k))] }
        func below(_ k: Int) -> Document { k == 0 ? ["$lt": 0] : ["$lte": .double(Self.doubleBelow(k))] }
        func range(_ low: Document, _ high: Document) -> BSON { .document(Document((Array(low) + Array(high)).map { ($0.key, $0.value) })) }
        var out = [probe("numbers below \(oldest)", range(["$gte": .double(-.infinity)], below(oldest)))]
        for v in oldest..<newest {
            out.append(probe("numbers between \(v) and \(v + 1)", range(above(v), below(v + 1))))
        }
        out += [
            probe("numbers above \(newest)", range(above(newest), ["$lte": .double(.infinity)])),
            probe("NaN", .double(.nan)),
            probe("strings", ["$gte": ""]),
            probe("binary data", ["$gte": .binary(BSONBinary(subtype: 0, data: []))]),
            probe("ObjectIds", ["$gte": .objectId(ObjectId(bytes: Array(repeating: 0, count: 12))!)]),
            probe("booleans", ["$in": [false, true]]),
            // From 0001-01-01: SecantusDB (Python) cannot take an earlier date as a bound;
            // earlier ones are `unusualVersionTypes`.
            probe("dates", ["$gte": .date(-62_135_596_800_000)]),
            probe("timestamps", ["$gte": .timestamp(BSONTimestamp(t: 0, i: 0))]),
            probe("JavaScript", ["$gte": .javascript("")]),
            probe("MinKey", .minKey),
            probe("MaxKey", .maxKey),
        ]
        return out
    }

    /// Version-field types that `unknownVersionProbes` does not bound.
    public static let unusualVersionTypes: [BSON] = ["object", "array", "regex", "dbPointer", "javascriptWithScope", "date"]

    /// The documents whose version field holds one of `unusualVersionTypes`: also the
    /// partial filter of `unusualVersionIndex`, which a healthy collection leaves empty.
    public var unusualVersionFilter: Document { [versionField: ["$type": .array(Self.unusualVersionTypes)]] }

    /// An index on the version field holding only the documents whose version is of an
    /// unusual type: empty on a healthy collection, so a `find` hinted to it answers
    /// "any such document?" at once on any server (SecantusDB cannot bound an index
    /// range by object or regex values and otherwise scans the whole collection).
    public var unusualVersionIndex: (name: String, keys: Document, partialFilter: Document) {
        ("strata_unusual_\(versionField)", [versionField: 1], unusualVersionFilter)
    }

    /// An index on the version field holding exactly the documents at versions the lens
    /// does not know (its partial filter is `filterForUnknownVersions`): empty on a
    /// healthy collection, so one `find` hinted to it answers "any unknown version?" at
    /// once. Needs a server that takes `$or` in a partial filter (mongod 6.0+,
    /// SecantusDB); the name carries the known versions, so a lens with a new version
    /// gets a new index rather than a clash.
    public var unknownVersionIndex: (name: String, keys: Document, partialFilter: Document) {
        ("strata_unknown_\(versionField)__v\(oldest)-\(newest)", [versionField: 1], filterForUnknownVersions)
    }

    /// The least double above `k`, the greatest below: bounds that exclude `k` itself
    /// (SecantusDB reads every key equal to an exclusive bound, and cannot bound an
    /// index range by decimal128 values without scanning). A decimal128 version
    /// closer to an integer than one double step (1.0000000000000000001) is not
    /// seen by these ranges.
    static func doubleAbove(_ k: Int) -> Double { Double(k).nextUp }
    static func doubleBelow(_ k: Int) -> Double { Double(k).nextDown }

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
