import CMongoc
import StrataBSON
import StrataLibBSON

extension MongoCollection {
    /// Opens an aggregation cursor. `options` are the command's options
    /// (`allowDiskUse`, `batchSize`, `hint`, `let`, `maxTimeMS`...).
    public func aggregate(_ pipeline: [BSON], options: Document = [:]) throws -> MongoCursor {
        if let pin = database.pin {
            return try pin.aggregate(database: database.name, collection: name, pipeline: pipeline, options: options)
        }
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        let coll = mongoc_client_get_collection(client.handle, database.name, name)!
        let p = BSONBuffer(["pipeline": .array(pipeline)])
        let o = BSONBuffer(options)
        let cursor = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, p.pointer, o.pointer, nil)!
        return MongoCursor(cursor: cursor, collection: coll, client: client)
    }

    /// Runs an aggregation and returns every result.
    public func aggregateAll(_ pipeline: [BSON], options: Document = [:]) throws -> [Document] {
        try aggregate(pipeline, options: options).all()
    }
}

extension MongoDatabase {
    /// A database-level aggregation (`aggregate: 1`), for pipelines that start
    /// with a stage such as `$documents`.
    public func aggregate(_ pipeline: [BSON], options: Document = [:]) throws -> MongoCursor {
        if let pin { return try pin.aggregate(database: name, collection: nil, pipeline: pipeline, options: options) }
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        let db = mongoc_client_get_database(client.handle, name)!
        defer { mongoc_database_destroy(db) }
        let p = BSONBuffer(["pipeline": .array(pipeline)])
        let o = BSONBuffer(options)
        let cursor = mongoc_database_aggregate(db, p.pointer, o.pointer, nil)!
        return MongoCursor(cursor: cursor, collection: nil, client: client)
    }
}
