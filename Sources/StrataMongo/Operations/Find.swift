import CMongoc
import StrataBSON
import StrataLibBSON

/// Options of the `find` command.
public struct FindOptions: Sendable {
    public var projection: Document?
    public var sort: Document?
    public var skip: Int64?
    public var limit: Int64?
    public var hint: BSON?
    public var batchSize: Int32?
    public var showRecordId = false
    /// Lets a blocking sort spill to disk on mongod (4.4+) instead of failing past 100 MB.
    public var allowDiskUse: Bool?
    public init(projection: Document? = nil, sort: Document? = nil, skip: Int64? = nil, limit: Int64? = nil,
                hint: BSON? = nil, batchSize: Int32? = nil, showRecordId: Bool = false) {
        self.projection = projection; self.sort = sort; self.skip = skip; self.limit = limit
        self.hint = hint; self.batchSize = batchSize; self.showRecordId = showRecordId
    }

    /// The options as `find` takes them.
    public var document: Document {
        var d = Document()
        if let projection { d["projection"] = .document(projection) }
        if let sort { d["sort"] = .document(sort) }
        if let skip { d["skip"] = .int64(skip) }
        if let limit { d["limit"] = .int64(limit) }
        if let hint { d["hint"] = hint }
        if let batchSize { d["batchSize"] = .int32(batchSize) }
        if showRecordId { d["showRecordId"] = true }
        if let allowDiskUse { d["allowDiskUse"] = .bool(allowDiskUse) }
        return d
    }
}

extension MongoCollection {
    public func find(_ filter: Document = [:], options: FindOptions = FindOptions()) throws -> MongoCursor {
        if let pin = database.pin {
            return try pin.find(database: database.name, collection: name, filter: filter, options: options)
        }
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        let coll = mongoc_client_get_collection(client.handle, database.name, name)!
        let f = BSONBuffer(filter)
        let o = BSONBuffer(options.document)
        let cursor = mongoc_collection_find_with_opts(coll, f.pointer, o.pointer, nil)!
        return MongoCursor(cursor: cursor, collection: coll, client: client)
    }

    public func findOne(_ filter: Document = [:], options: FindOptions = FindOptions()) throws -> Document? {
        var o = options
        o.limit = 1
        return try find(filter, options: o).nextDocument()
    }
}
