import CMongoc
import StrataBSON
import StrataLibBSON

extension MongoCollection {
    /// Inserts documents with one `insert` command per server batch.
    /// Returns the number inserted; a failure names the first bad document.
    /// `validate: false` skips libmongoc's check of the documents' keys (no `.` or `$`),
    /// which the server itself does not make since MongoDB 5.0.
    @discardableResult
    public func insertMany(_ documents: [Document], ordered: Bool = true, validate: Bool = true) throws -> Int {
        if documents.isEmpty { return 0 }
        let buffers = documents.map(BSONBuffer.init)
        var pointers: [OpaquePointer?] = buffers.map(\.pointer)
        let opts = BSONBuffer(validate ? ["ordered": .bool(ordered)] : ["ordered": .bool(ordered), "validate": false])
        return try pool.withClient { client in
            try client.withCollection(database.name, name) { coll in
                try withAlignedBSON { reply in
                    var error = bson_error_t()
                    let ok = pointers.withUnsafeMutableBufferPointer { p in
                        mongoc_collection_insert_many(coll, p.baseAddress, p.count, opts.pointer, reply, &error)
                    }
                    let replyDoc = BSONReader.document(from: reply)
                    bson_destroy(reply)
                    guard ok else { throw MongoError.from(error, reply: replyDoc) }
                    withExtendedLifetime(buffers) {}
                    return replyDoc["insertedCount"]?.exactInt.map(Int.init) ?? documents.count
                }
            }
        }
    }

    public func insertOne(_ document: Document) throws {
        try insertMany([document])
    }
}
