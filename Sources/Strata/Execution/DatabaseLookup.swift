import Foundation
import StrataBSON
import StrataLibBSON
import StrataMongo
import Synchronization

/// Answers the lens's lookups from the database, with a cache per query:
/// the first document (natural order) of `from` whose `foreignField` matches,
/// as `$lookup` matches (a missing local value matches null or missing).
package final class DatabaseLookup: Sendable {
    private let database: MongoDatabase
    private let cache = Mutex<[String: Document?]>([:])

    package init(database: MongoDatabase) { self.database = database }

    func lookup(from: String, foreignField: String, value: BSON?) throws -> Document? {
        let key = from + "\u{0}" + foreignField + "\u{0}" + (value.map { ExtendedJSON.string($0, mode: .canonical) } ?? "missing")
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let found = try database.collection(from).findOne(Self.filter(foreignField, value))
        cache.withLock { $0[key] = found }
        return found
    }

    /// The first document of versioned `lens.collection`, read as if migrated, whose
    /// newest-schema `foreignField` matches `value` (natural order, as `lookup`): a strata
    /// query — under the running query's pin when `joins` is given (its reads), else a
    /// query of its own with a consistent read.
    func versionedLookup(_ lens: Lens, foreignField: String, value: BSON?, functions: LensFunctions, joins: Joins?) throws -> Document? {
        let key = "\u{1}" + lens.collection + "\u{0}" + foreignField + "\u{0}"
            + (value.map { ExtendedJSON.string($0, mode: .canonical) } ?? "missing")
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let stages: [BSON] = [["$match": .document(Self.filter(foreignField, value))], ["$limit": 1]]
        let found: Document?
        if let joins {
            found = try joins.read(lens, stages).first
        } else {
            var first: Document?
            try QueryRunner(database: database, lens: lens, functions: functions)
                .run(QuerySpec(collection: lens.collection, pipeline: stages)) { first = $0; return false }
            found = first
        }
        cache.withLock { $0[key] = found }
        return found
    }

    /// `$lookup`'s match of one local value (missing or null: null or missing; an array:
    /// any of its elements).
    static func filter(_ foreignField: String, _ value: BSON?) -> Document {
        switch value {
        case nil, .null?: return [foreignField: .null]
        case .array(let elements)?: return [foreignField: ["$in": .array(elements)]]
        case let v?: return [foreignField: ["$eq": v]]
        }
    }

    var context: LensContext { context(functions: .builtIn) }

    /// The lens context over this database; `joins`: the running query's, whose pinned
    /// reads a lookup into a versioned collection then shares.
    package func context(functions: LensFunctions, joins: Joins? = nil) -> LensContext {
        LensContext(functions: functions, lookup: { [self] from, foreignField, value in
            try self.lookup(from: from, foreignField: foreignField, value: value)
        }, versionedLookup: { [self] lens, foreignField, value in
            try self.versionedLookup(lens, foreignField: foreignField, value: value, functions: functions, joins: joins)
        })
    }
}
