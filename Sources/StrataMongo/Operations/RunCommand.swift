import CMongoc
import StrataBSON
import StrataLibBSON

extension MongoClient {
    func runCommand(_ command: Document, database: String, options: Document = [:]) throws -> Document {
        let cmd = BSONBuffer(command)
        let opts = BSONBuffer(options)
        return try withAlignedBSON { reply in
            var error = bson_error_t()
            let ok = mongoc_client_command_with_opts(handle, database, cmd.pointer, nil, opts.pointer, reply, &error)
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            guard ok else { throw MongoError.from(error, reply: replyDoc) }
            return replyDoc
        }
    }
}

extension MongoClient {
    /// A read command (`find`, `aggregate`...): libmongoc applies the read preference and
    /// retryable reads to it.
    func readCommand(_ command: Document, database: String, options: Document = [:]) throws -> Document {
        let cmd = BSONBuffer(command)
        let opts = BSONBuffer(options)
        return try withAlignedBSON { reply in
            var error = bson_error_t()
            let ok = mongoc_client_read_command_with_opts(handle, database, cmd.pointer, nil, opts.pointer, reply, &error)
            let replyDoc = BSONReader.document(from: reply)
            bson_destroy(reply)
            guard ok else { throw MongoError.from(error, reply: replyDoc) }
            return replyDoc
        }
    }
}

extension MongoDatabase {
    /// Runs a database command and returns the server's reply; `ok: 0` throws.
    public func runCommand(_ command: Document) throws -> Document {
        try pool.withClient { try $0.runCommand(command, database: name) }
    }

    /// `ping`: throws a `.connection` error when the server cannot be reached.
    public func ping() throws {
        _ = try runCommand(["ping": 1])
    }

    public func listCollectionNames() throws -> [String] {
        let reply = try runCommand(["listCollections": 1, "nameOnly": true])
        let batch = reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue ?? []
        return batch.compactMap { $0.documentValue?["name"]?.stringValue }
    }

    public func drop() throws { _ = try runCommand(["dropDatabase": 1]) }
}
