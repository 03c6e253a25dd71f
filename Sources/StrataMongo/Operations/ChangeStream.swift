import CMongoc
import StrataBSON
import StrataLibBSON

/// A change stream on a collection (`$changeStream`). Like `MongoCursor`, it owns
/// the client it was opened on and must stay on one thread. `next(maxWait:)`
/// returns `nil` when nothing happened within the server's await time, so a
/// caller can check for cancellation between calls.
public final class MongoChangeStream {
    private let stream: OpaquePointer
    private let collection: OpaquePointer
    private let client: MongoClient

    init(stream: OpaquePointer, collection: OpaquePointer, client: MongoClient) {
        self.stream = stream
        self.collection = collection
        self.client = client
    }

    deinit {
        mongoc_change_stream_destroy(stream)
        mongoc_collection_destroy(collection)
        client.giveBack()
    }

    /// The next change event, or `nil` when none arrived within the await time.
    /// Throws the server's error (e.g. change streams unsupported on a standalone).
    public func next() throws -> Document? {
        var doc: OpaquePointer?
        if mongoc_change_stream_next(stream, &doc), let doc {
            return BSONReader.document(from: doc)
        }
        var error = bson_error_t()
        var reply: OpaquePointer?
        if mongoc_change_stream_error_document(stream, &error, &reply) {
            throw MongoError.from(error, reply: reply.map { BSONReader.document(from: $0) })
        }
        return nil
    }

    /// The token to resume after the last event returned (or the stream's start).
    public var resumeToken: Document? {
        guard let t = mongoc_change_stream_get_resume_token(stream) else { return nil }
        return BSONReader.document(from: t)
    }
}

extension MongoCollection {
    /// Opens a change stream. `options` are `$changeStream` / aggregate options:
    /// `maxAwaitTimeMS`, `fullDocument`, `fullDocumentBeforeChange`, `resumeAfter`,
    /// `startAtOperationTime`, `batchSize`. The server's first reply is awaited, so
    /// an unsupported server fails here.
    public func watch(_ pipeline: [BSON] = [], options: Document = [:]) throws -> MongoChangeStream {
        let client = MongoClient(borrowing: pool.pop(), from: pool)
        let coll = mongoc_client_get_collection(client.handle, database.name, name)!
        let p = BSONBuffer(["pipeline": .array(pipeline)])
        let o = BSONBuffer(options)
        let stream = mongoc_collection_watch(coll, p.pointer, o.pointer)!
        var error = bson_error_t()
        var reply: OpaquePointer?
        if mongoc_change_stream_error_document(stream, &error, &reply) {
            let e = MongoError.from(error, reply: reply.map { BSONReader.document(from: $0) })
            mongoc_change_stream_destroy(stream)
            mongoc_collection_destroy(coll)
            client.giveBack()
            throw e
        }
        return MongoChangeStream(stream: stream, collection: coll, client: client)
    }

    /// The collection's options as `listCollections` reports them (nil when it does not exist).
    public func options() throws -> Document? {
        let reply = try database.runCommand(["listCollections": 1, "filter": ["name": .string(name)]])
        let first = reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.first?.documentValue
        return first.map { $0["options"]?.documentValue ?? [:] }
    }
}
