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
        let filter: Document
        switch value {
        case nil, .null?: filter = [foreignField: .null]
        case .array(let elements)?: filter = [foreignField: ["$in": .array(elements)]]
        case let v?: filter = [foreignField: ["$eq": v]]
        }
        let found = try database.collection(from).findOne(filter)
        cache.withLock { $0[key] = found }
        return found
    }

    var context: LensContext { context(functions: .builtIn) }

    package func context(functions: LensFunctions) -> LensContext {
        LensContext(functions: functions, lookup: { [self] from, foreignField, value in
            try self.lookup(from: from, foreignField: foreignField, value: value)
        })
    }
}
