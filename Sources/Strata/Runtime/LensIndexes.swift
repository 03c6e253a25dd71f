import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// The indexes a lens implies, for a collection whose documents sit at several versions:
/// one on the version field, one (`Lens.unusualVersionIndex`) holding only documents
/// whose version field has an unusual type (empty when healthy), and for each index the lens file declares on the newest
/// schema, its equivalents on the paths the older versions store the same values at.
///
/// For each declared index and each version, every key path is traced back through the
/// lens (`Lens.source(of:atVersion:)`): a plain path is indexed as it is; a path computed
/// by a conversion of one stored field whose inverse is declared exact
/// (`Lens.exactInverseSource`: equalities translate to the stored field) is indexed on
/// that field, not unique; a path computed
/// by a `monotone` conversion of one stored field (`Lens.monotoneSource`) is indexed on
/// that field (reversed for a decreasing conversion: the planner turns ranges on the new
/// value into ranges on the stored one); anything else (a lookup, an application-defined
/// function, a non-monotone conversion) cannot be served by an index on stored paths and
/// is reported as skipped. Versions with the same stored key pattern share one index.
///
/// Each index is restricted to its versions with a partial filter:
/// - all versions: no filter (the path never changed: one ordinary index, and a unique
///   one is unique across every version);
/// - versions that do not include the one an absent version field means: the version
///   field, `{v: k}` or `{v: {$gte: a, $lte: b}}` — mongod's planner uses it for a query
///   whose filter implies it (the per-version branches strata sends do);
/// - versions including the absent one: mongod refuses `{v: {$exists: false}}` (and
///   `$not`, `$or` of it) in a partial filter, so the index is `sparse` instead: it holds
///   the documents that store one of its keys at all, which are the group's versions as
///   long as no other version stores a field at those paths. Both servers use a sparse
///   index for any predicate on the key that null or missing cannot satisfy (mongod
///   would also take `{<key>: {$exists: true}}` as a partial filter; SecantusDB never
///   uses an index with that filter).
///
/// A declared `unique` stays unique within each index's versions; across versions it is
/// not enforced (see the README). A key that is unique by a monotone conversion is
/// indexed without `unique` (a monotone function need not be one-to-one).
public struct LensIndexPlan: Sendable {
    public struct Spec: Sendable, Equatable {
        public var name: String
        public var keys: Document
        public var unique: Bool
        /// Holds only the documents that store one of the keys (the groups that include the
        /// version an absent version field means).
        public var sparse: Bool = false
        public var partialFilter: Document?
        /// The versions the index covers.
        public var versions: [Int]
        /// The declared index it stands in for (nil for the version-field index).
        public var declaredName: String?
        public var note: String?

        /// The `createIndexes` specification.
        public var document: Document {
            var d: Document = ["key": .document(keys), "name": .string(name)]
            if unique { d["unique"] = true }
            if sparse { d["sparse"] = true }
            if let partialFilter { d["partialFilterExpression"] = .document(partialFilter) }
            return d
        }
    }

    /// A declared index some versions cannot get an equivalent for.
    public struct Skipped: Sendable, Equatable {
        public var declaredName: String
        public var versions: [Int]
        public var reason: String
    }

    public var collection: String
    public var versionField: String
    /// `Lens.unknownVersionIndex`'s name.
    public var unknownVersionIndexName: String
    public var specs: [Spec]
    public var skipped: [Skipped]

    /// mongod's default name for a key pattern: `a_1_b.c_-1`.
    public static func defaultName(_ keys: Document) -> String {
        keys.map { "\($0.key)_\(($0.value.exactInt ?? 1) < 0 ? "-1" : "1")" }.joined(separator: "_")
    }

    static func versionText(_ vs: [Int]) -> String {
        vs.count == 1 ? "v\(vs[0])" : "v\(vs.first!)-\(vs.last!)"
    }

    public init(lens: Lens) {
        collection = lens.collection
        versionField = lens.versionField
        unknownVersionIndexName = lens.unknownVersionIndex.name
        specs = [Spec(name: Self.defaultName([lens.versionField: 1]), keys: [lens.versionField: 1], unique: false,
                      partialFilter: nil, versions: Array(lens.knownVersions), declaredName: nil,
                      note: "the version field: per-version counts and filters"),
                 Spec(name: lens.unknownVersionIndex.name, keys: lens.unknownVersionIndex.keys, unique: false,
                      partialFilter: lens.unknownVersionIndex.partialFilter, versions: Array(lens.knownVersions), declaredName: nil,
                      note: "documents at versions the lens does not know: empty when healthy, so the look for them before each query is one instant find (needs $or in partial filters: mongod 6.0+)"),
                 Spec(name: lens.unusualVersionIndex.name, keys: lens.unusualVersionIndex.keys, unique: false,
                      partialFilter: lens.unusualVersionIndex.partialFilter, versions: Array(lens.knownVersions), declaredName: nil,
                      note: "documents whose version is an object, array, regex...: empty when healthy; the look for unknown versions uses it where the server refuses the index above")]
        skipped = []
        let all = Array(lens.knownVersions)
        for declared in lens.indexes {
            let base = declared.name ?? Self.defaultName(declared.keys)
            // Stored key pattern per version (nil: not servable), in version order.
            var groups: [(keys: Document, monotone: Bool, versions: [Int])] = []
            var notServable: [(Int, String)] = []
            for version in lens.knownVersions {
                var keys: [(String, BSON)] = []
                var monotone = false
                var why: String?
                for (path, direction) in declared.keys {
                    let p = Query.components(path)
                    let source = lens.source(of: p, atVersion: version)
                    if case .path(let q) = source.value, source.lookups.isEmpty {
                        keys.append((q.joined(separator: "."), direction))
                    } else if let m = lens.monotoneSource(of: p, atVersion: version) {
                        let d = direction.exactInt ?? 1
                        keys.append((m.storedPath.joined(separator: "."), .int32(Int32(m.increasing ? d : -d))))
                        monotone = true
                    } else if let e = lens.exactInverseSource(of: p, atVersion: version) {
                        // Serves equalities (`kind: "refund"` → `type: "Refund"`), not ranges.
                        keys.append((e.storedPath.joined(separator: "."), direction))
                        monotone = true
                    } else {
                        why = Self.reason(path, source)
                        break
                    }
                }
                if let why { notServable.append((version, why)); continue }
                let doc = Document(keys)
                if let i = groups.lastIndex(where: { $0.keys == doc && $0.versions.last == version - 1 }) {
                    groups[i].versions.append(version)
                    groups[i].monotone = groups[i].monotone || monotone
                } else {
                    groups.append((doc, monotone, [version]))
                }
            }
            for g in groups {
                let everywhere = g.versions == all
                var filter: Document?
                var sparse = false
                if !everywhere {
                    if g.versions.contains(lens.absentMeans) {
                        sparse = true
                    } else if g.versions.count == 1 {
                        filter = [lens.versionField: .int32(Int32(g.versions[0]))]
                    } else {
                        filter = [lens.versionField: ["$gte": .int32(Int32(g.versions.first!)), "$lte": .int32(Int32(g.versions.last!))]]
                    }
                }
                var note: String?
                if declared.unique && g.monotone {
                    note = "not unique: the key is a monotone conversion of the stored field, which need not be one-to-one"
                } else if declared.unique && !everywhere {
                    note = "unique within \(Self.versionText(g.versions)) only"
                }
                specs.append(Spec(name: everywhere ? base : base + "__" + Self.versionText(g.versions), keys: g.keys,
                                  unique: declared.unique && !g.monotone, sparse: sparse, partialFilter: filter, versions: g.versions,
                                  declaredName: base, note: note))
            }
            var i = 0
            while i < notServable.count {
                var j = i
                while j + 1 < notServable.count && notServable[j + 1].0 == notServable[j].0 + 1 && notServable[j + 1].1 == notServable[i].1 { j += 1 }
                skipped.append(Skipped(declaredName: base, versions: notServable[i...j].map(\.0), reason: notServable[i].1))
                i = j + 1
            }
        }
    }

    static func reason(_ path: String, _ source: PathSource) -> String {
        switch source.value {
        case .swiftOnly(let why): return why
        case .untranslatable(let why): return "'\(path)' has no single stored path: \(why)"
        case .computed(let e, _):
            if !source.lookups.isEmpty { return "'\(path)' is looked up in '\(source.lookups[0].from)': no index on this collection holds it" }
            let from = (UpgradeInputs.fieldPaths(of: e) ?? []).map { "'\($0.joined(separator: "."))'" }.sorted()
            return "'\(path)' is computed\(from.isEmpty ? "" : " from " + from.joined(separator: ", ")) by a conversion the lens does not declare monotone: no index on stored paths serves it exactly"
        case .path: return "'\(path)' is looked up in another collection"
        }
    }

    /// What `create` did with one spec.
    public enum Outcome: Sendable, Equatable {
        case created
        /// The same index exists already (possibly under another name).
        case exists(name: String)
        /// The server refused it (only the unknown-version index, whose partial filter
        /// older servers cannot take); the others are created.
        case refused(reason: String)
    }

    /// Creates the indexes that do not exist yet. An index of the same name with
    /// different options is an error naming both (drop it, or rename it in the lens).
    public func create(on collection: MongoCollection) throws -> [(Spec, Outcome)] {
        defer { MetadataCache.invalidate(collection) }
        let existing = try collection.listIndexes()
        var out: [(Spec, Outcome)] = []
        var toCreate: [Spec] = []
        for spec in specs {
            if let same = existing.first(where: { Self.equivalent($0, spec) }) {
                out.append((spec, .exists(name: same["name"]?.stringValue ?? spec.name)))
                continue
            }
            if let clash = existing.first(where: { $0["name"]?.stringValue == spec.name }) {
                throw StrataError.badInput("index '\(spec.name)' exists on \(collection.namespace) with a different definition (\(ExtendedJSON.string(clash))); strata would create \(ExtendedJSON.string(spec.document)). Drop it (db.\(collection.name).dropIndex(\"\(spec.name)\")) and run again")
            }
            toCreate.append(spec)
            out.append((spec, .created))
        }
        // The unknown-version index on its own: a server that refuses `$or` in a partial
        // filter (mongod before 6.0) still gets every other index.
        let optional = toCreate.filter { $0.name == unknownVersionIndexName }
        try collection.createIndexes(toCreate.filter { $0.name != unknownVersionIndexName }.map(\.document))
        for spec in optional {
            do {
                try collection.createIndexes([spec.document])
            } catch let e as MongoError where e.kind == .server {
                if let i = out.firstIndex(where: { $0.0.name == spec.name }) { out[i].1 = .refused(reason: e.message) }
            }
        }
        return out
    }

    /// Same keys (in order, same directions), uniqueness and partial filter.
    static func equivalent(_ index: Document, _ spec: Spec) -> Bool {
        guard let keys = index["key"]?.documentValue, keys.count == spec.keys.count else { return false }
        for (a, b) in zip(keys, spec.keys) where a.key != b.key || a.value.exactInt != b.value.exactInt { return false }
        if (index["unique"]?.boolValue ?? false) != spec.unique { return false }
        if (index["sparse"]?.boolValue ?? false) != spec.sparse { return false }
        let filter = index["partialFilterExpression"]?.documentValue
        if (filter == nil) != (spec.partialFilter == nil) { return false }
        if let filter, let want = spec.partialFilter, ExtendedJSON.string(filter, mode: .canonical) != ExtendedJSON.string(want, mode: .canonical) {
            // Servers may normalise numbers (1 vs 1.0): compare with the evaluator's equality.
            return GroupKey(.document(filter)) == GroupKey(.document(want))
        }
        return true
    }
}
