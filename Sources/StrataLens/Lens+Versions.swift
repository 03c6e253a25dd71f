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

    /// An integer version value (int32, int64, or an integral double); nil otherwise.
    public static func integerVersion(_ v: BSON) -> Int? {
        switch v {
        case .int32(let i): return Int(i)
        case .int64(let i): return Int(exactly: i)
        case .double(let d) where d.isFinite && d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    /// A query matching exactly the documents stored at `version`: the version
    /// field equal to it (and not an array that merely contains it), or absent
    /// when `version` is what absence means.
    public func filter(forVersion version: Int) -> Document {
        let equal: Document = [versionField: ["$eq": .int32(Int32(version)), "$not": ["$type": "array"]]]
        guard version == absentMeans else { return equal }
        return ["$or": [[versionField: ["$exists": false]], .document(equal)]]
    }

    /// A query matching every document at a version the lens does not know
    /// (unknown integers and non-integers, null included).
    public var filterForUnknownVersions: Document {
        ["$nor": .array(knownVersions.map { .document(filter(forVersion: $0)) })]
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
