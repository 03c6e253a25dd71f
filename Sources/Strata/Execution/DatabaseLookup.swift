import Foundation
import StrataBSON
import StrataLibBSON
import StrataMongo

/// Answers the lens's lookups from the database, with a cache per query:
/// the first document (natural order) of `from` whose `foreignField` matches,
/// as `$lookup` matches (a missing local value matches null or missing).
final class DatabaseLookup: @unchecked Sendable {
    private let database: MongoDatabase
    private var cache: [String: Document?] = [:]
    private let lock = NSLock()

    init(database: MongoDatabase) { self.database = database }

    func lookup(from: String, foreignField: String, value: BSON?) throws -> Document? {
        let key = from + "\u{0}" + foreignField + "\u{0}" + (value.map { ExtendedJSON.string($0, mode: .canonical) } ?? "missing")
        lock.lock()
        if let hit = cache[key] { lock.unlock(); return hit }
        lock.unlock()
        let filter: Document
        switch value {
        case nil, .null?: filter = [foreignField: .null]
        case .array(let elements)?: filter = [foreignField: ["$in": .array(elements)]]
        case let v?: filter = [foreignField: ["$eq": v]]
        }
        let found = try database.collection(from).findOne(filter)
        lock.lock()
        cache[key] = found
        lock.unlock()
        return found
    }

    var context: LensContext { context(functions: .builtIn) }

    func context(functions: LensFunctions) -> LensContext {
        LensContext(functions: functions, lookup: { [self] from, foreignField, value in
            try self.lookup(from: from, foreignField: foreignField, value: value)
        })
    }
}
