/// A database on a pool. Plain value, `Sendable`; every call pops a client.
public struct MongoDatabase: Sendable {
    public let pool: MongoPool
    public let name: String
    /// When set, every `find` and `aggregate` through this database (and its collections)
    /// reads the one state the pin holds (see `ReadPin`).
    public private(set) var pin: ReadPin?
    public init(pool: MongoPool, name: String) { self.pool = pool; self.name = name }

    /// The same database with its reads pinned (nil: not pinned).
    public func pinned(_ pin: ReadPin?) -> MongoDatabase {
        var copy = self
        copy.pin = pin
        return copy
    }

    public func collection(_ name: String) -> MongoCollection { MongoCollection(database: self, name: name) }
}

/// A collection on a pool. Plain value, `Sendable`; every call pops a client.
/// The operations live one per file in `Operations/`.
public struct MongoCollection: Sendable {
    public let database: MongoDatabase
    public let name: String
    public init(database: MongoDatabase, name: String) { self.database = database; self.name = name }

    public var pool: MongoPool { database.pool }
    public var namespace: String { database.name + "." + name }
}
