import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo

/// How many documents of a collection are stored at each schema version.
///
/// Every document is counted exactly once, on exactly one line:
/// - a document without the version field counts as the lens's `absentMeans`
///   version (and is also tallied in `documentsWithoutField`);
/// - a version field holding an integral number (`1`, `NumberLong(1)`, `1.0`,
///   `NumberDecimal("1")`) counts as that version, as MongoDB's equality would
///   match it — in `counts` when the lens knows the version, in
///   `unknownVersions` when it does not (e.g. 7);
/// - anything else (`"2"`, `1.5`, `null`, an array, an object, NaN...) is a
///   `NonIntegerVersion` line with the value as Extended JSON. Nothing is dropped.
public struct VersionHistogram: Sendable, Equatable {
    /// One line for a version field value that is not an integer.
    public struct NonIntegerVersion: Sendable, Equatable {
        /// The stored value (`.null`, `.string("2")`, `.double(1.5)`, ...).
        public var value: BSON
        /// The value as relaxed Extended JSON (`"2"`, `1.5`, `null`, `[1, 2]`).
        public var extendedJSON: String
        public var count: Int

        public init(value: BSON, count: Int) {
            self.value = value
            self.extendedJSON = ExtendedJSON.string(value, mode: .relaxed)
            self.count = count
        }
    }

    /// How the counts were obtained.
    public enum Strategy: Sendable, Equatable, CustomStringConvertible {
        /// Probes that the server runs on an index whose first key is the version
        /// field: one count per known version, one for null-or-missing, one for
        /// everything else (`$nin`). `name` is the index (or indexes) the plans use.
        case versionIndex(name: String, stages: [String], queries: Int)
        /// One `$group` by the version field over the whole collection.
        case groupScan(reason: String)

        public var description: String {
            switch self {
            case .versionIndex(let name, let stages, let queries):
                return "index '\(name)' (\(stages.joined(separator: ", ")); \(queries) queries)"
            case .groupScan(let reason):
                return "one $group scan (\(reason))"
            }
        }

        public var isIndexed: Bool { if case .versionIndex = self { return true }; return false }
    }

    public var database: String
    public var collection: String
    public var versionField: String
    public var absentMeans: Int
    /// The versions the lens knows, oldest...newest.
    public var knownVersions: ClosedRange<Int>
    /// Documents per known version; every known version has an entry (possibly 0).
    public var counts: [Int: Int]
    /// Documents at integral versions the lens does not know.
    public var unknownVersions: [Int: Int]
    /// Documents whose version field is not an integer, most frequent first.
    public var nonInteger: [NonIntegerVersion]
    /// Documents without the version field (already included in `counts[absentMeans]`).
    public var documentsWithoutField: Int
    public var strategy: Strategy

    public init(database: String, collection: String, versionField: String, absentMeans: Int,
                knownVersions: ClosedRange<Int>, counts: [Int: Int], unknownVersions: [Int: Int],
                nonInteger: [NonIntegerVersion], documentsWithoutField: Int, strategy: Strategy) {
        self.database = database
        self.collection = collection
        self.versionField = versionField
        self.absentMeans = absentMeans
        self.knownVersions = knownVersions
        self.counts = counts
        self.unknownVersions = unknownVersions
        self.nonInteger = nonInteger
        self.documentsWithoutField = documentsWithoutField
        self.strategy = strategy
    }

    /// Every document of the collection.
    public var total: Int {
        counts.values.reduce(0, +) + unknownVersions.values.reduce(0, +) + nonInteger.reduce(0) { $0 + $1.count }
    }

    /// Documents at a version the lens does not know or not an integer.
    public var unexpected: Int { total - counts.values.reduce(0, +) }

    /// The count at `version` (known or unknown).
    public func count(at version: Int) -> Int { counts[version] ?? unknownVersions[version] ?? 0 }

    /// The integral versions present (count > 0), known and unknown, ascending.
    public var versionsPresent: [Int] {
        (counts.filter { $0.value > 0 }.map(\.key) + unknownVersions.filter { $0.value > 0 }.map(\.key)).sorted()
    }

    /// Equality compares the counts, not how they were obtained.
    public static func == (a: VersionHistogram, b: VersionHistogram) -> Bool {
        a.database == b.database && a.collection == b.collection && a.versionField == b.versionField
            && a.absentMeans == b.absentMeans && a.knownVersions == b.knownVersions && a.counts == b.counts
            && a.unknownVersions == b.unknownVersions && a.nonInteger == b.nonInteger
            && a.documentsWithoutField == b.documentsWithoutField
    }
}

/// Accumulates grouped rows `{t: <$type>, v: <value>, n: <count>}` into a histogram.
struct HistogramTally {
    let knownVersions: ClosedRange<Int>
    let absentMeans: Int
    var counts: [Int: Int]
    var unknown: [Int: Int] = [:]
    var nonInteger: [String: VersionHistogram.NonIntegerVersion] = [:]
    var missing = 0

    init(knownVersions: ClosedRange<Int>, absentMeans: Int) {
        self.knownVersions = knownVersions
        self.absentMeans = absentMeans
        counts = Dictionary(uniqueKeysWithValues: knownVersions.map { ($0, 0) })
    }

    /// Adds `n` documents whose version field is `value` (`nil` = missing).
    mutating func add(_ value: BSON?, count n: Int) {
        guard n > 0 else { return }
        guard let value else {
            missing += n
            addVersion(absentMeans, n)
            return
        }
        if let v = Self.integralVersion(value) {
            addVersion(v, n)
        } else {
            let key = ExtendedJSON.string(value, mode: .canonical) + "|" + value.typeName
            if var existing = nonInteger[key] {
                existing.count += n
                nonInteger[key] = existing
            } else {
                nonInteger[key] = VersionHistogram.NonIntegerVersion(value: value, count: n)
            }
        }
    }

    mutating func addVersion(_ v: Int, _ n: Int) {
        if knownVersions.contains(v) { counts[v, default: 0] += n } else { unknown[v, default: 0] += n }
    }

    /// An integral number (int32, int64, integral double or decimal) as an Int:
    /// the lens's own rule, so the histogram and the planner agree.
    static func integralVersion(_ value: BSON) -> Int? { Lens.integerVersion(value) }

    /// Adds one row of the `$group` that `HistogramReader.groupStage` builds.
    mutating func add(groupRow row: Document) throws {
        guard case .document(let id)? = row["_id"], let n = row["n"]?.exactInt else {
            throw StrataError.unsupported("unexpected $group result row \(ExtendedJSON.string(row))")
        }
        if id["t"] == .string("missing") {
            add(nil, count: Int(n))
        } else {
            // A present field whose value is missing from the key cannot happen;
            // if a server left `v` out, keep the document on a line of its own.
            add(id["v"] ?? .undefined, count: Int(n))
        }
    }

    func histogram(database: String, collection: String, versionField: String,
                   strategy: VersionHistogram.Strategy) -> VersionHistogram {
        let odd = nonInteger.values.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.extendedJSON < $1.extendedJSON
        }
        return VersionHistogram(database: database, collection: collection, versionField: versionField,
                                absentMeans: absentMeans, knownVersions: knownVersions, counts: counts,
                                unknownVersions: unknown, nonInteger: odd, documentsWithoutField: missing,
                                strategy: strategy)
    }
}
