import Foundation
import StrataBSON
import StrataEvaluator
import StrataMongo

/// Where a final `$out`/`$merge` writes, resolved against the database the query reads,
/// and what strata knows of it: its lens, when it is a versioned collection of that
/// database (a `<target>.json` in the schemas folder).
struct WriteTarget {
    let database: MongoDatabase
    let collection: MongoCollection
    /// The target's own lens: written documents are newest-version documents stamped
    /// with its version field, and `$merge` applies to stored documents upgraded first.
    let lens: Lens?
    let functions: LensFunctions

    var namespace: String { collection.namespace }

    /// Resolves the target of `output` for a query over `source`, refusing (`.badInput`)
    /// what strata cannot write exactly: the versioned collection the query reads, and
    /// `on` fields the target's lens moves or computes at some stored version.
    static func resolve(_ output: OutputStage, source: VersionedCollection) throws -> WriteTarget {
        let dbName = output.database ?? source.database.name
        let database = MongoDatabase(pool: source.database.pool, name: dbName)
        if dbName == source.database.name && output.collection == source.name {
            throw StrataError.badInput("\(output.kind.rawValue) into '\(dbName).\(output.collection)', the versioned collection this query reads, is refused: the results are newest-version documents, and writing them over documents stored at older versions is a migration (strata migrate), not a query; write into another collection",
                                       at: output.location)
        }
        var lens: Lens?
        if dbName == source.database.name && source.versionedCollections.contains(output.collection) {
            guard let folder = source.schemasDirectory else {
                throw StrataError.unsupported("'\(output.collection)' has a lens of its own, but this collection was opened without its schemas folder (open it with StrataClient)",
                                              at: output.location)
            }
            let l = try Lens.load(collection: output.collection, schemasDirectory: folder)
            if let unbound = l.unboundFunctions(source.functions).first {
                throw StrataError.badInput("the lens uses the function '\(unbound.function)', which is not bound (LensFunctions.register)",
                                           at: unbound.location)
            }
            lens = l
        }
        let target = WriteTarget(database: database, collection: database.collection(output.collection), lens: lens,
                                 functions: source.functions)
        if output.kind == .merge { try target.checkOnUnchanged(output) }
        return target
    }

    /// `$merge` finds a result's target document by its `on` fields in the *stored*
    /// documents: a field the target's lens renames, nests or computes at an older version
    /// would be looked for where it is not. Refused unless every `on` path is the same
    /// path at every stored version (`_id` normally is; a lens that derives a new `_id`
    /// makes even `_id` refused).
    func checkOnUnchanged(_ output: OutputStage) throws {
        guard let lens else { return }
        for field in output.on {
            let path = field.split(separator: ".").map(String.init)
            for version in lens.knownVersions where version < lens.newest {
                let source = lens.source(of: path, atVersion: version)
                guard source.isPath, case .path(let stored) = source.value, stored == path else {
                    throw StrataError.badInput("$merge 'on' field '\(field)' of '\(collection.name)' is not stored as '\(field)' at version \(version) (its lens moves or computes it): matching results against the stored documents would miss them; use fields the lens never changes",
                                               at: output.location.appending("on"))
                }
            }
        }
    }

    /// mongod's requirement, checked before anything runs (so the target stays as it was):
    /// `on` other than `_id` needs a unique index on exactly those fields (in any order),
    /// neither partial nor with a collation of its own; a target that does not exist has
    /// only `_id`.
    func checkUniqueIndex(_ output: OutputStage) throws {
        guard output.on != ["_id"] else { return }
        let wanted = Set(output.on)
        let indexes = try collection.listIndexes()
        let supported = indexes.contains { index in
            guard index["unique"] == .bool(true) || index["unique"]?.exactInt == 1,
                  index["partialFilterExpression"] == nil,
                  index["collation"] == nil || index["collation"]?.documentValue?["locale"] == .string("simple"),
                  let key = index["key"]?.documentValue else { return false }
            return Set(key.keys) == wanted && key.count == wanted.count
        }
        if !supported {
            throw StrataError.badInput("Cannot find index to verify that join fields will be unique", at: output.location.appending("on"))
        }
    }

    /// `doc` as written into the target: stamped with the newest version of its lens.
    func stamped(_ doc: Document) -> Document {
        guard let lens else { return doc }
        var d = doc
        stampVersion(&d, field: lens.versionField, version: lens.newest)
        return d
    }

    /// A fresh name for a temporary collection in the target's database.
    func temporaryName(_ purpose: String) -> String {
        "tmp.strata_\(purpose).\(ObjectIdGenerator.next().hex)"
    }
}
