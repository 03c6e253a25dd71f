/// A database on a pool. Plain value, `Sendable`; every call pops a client.
public struct MongoDatabase: Sendable {
    public let pool: MongoPool
    public let name: String
    public init(pool: MongoPool, name: String) { self.pool = pool; self.name = name }

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
