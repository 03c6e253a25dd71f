import CMongoc
import StrataBSON
import StrataLibBSON

/// A server cursor. It owns the client it was opened on (popped from the pool)
/// and gives both back in `deinit`, so it may outlive the call that opened it
/// but must stay on one thread. Documents are copied into Swift values.
///
/// A cursor opened inside a transaction pin shares the pin's client: every call on it
/// holds the pin's lock, and the client stays the pin's (which outlives the cursor).
public final class MongoCursor: IteratorProtocol, Sequence {
    private let cursor: OpaquePointer
    private let collection: OpaquePointer?
    private let client: MongoClient
    private let pin: ReadPin?
    private var failure: MongoError?
    private var exhausted = false
    /// Bytes of BSON received so far (document sizes as the server sent them).
    public private(set) var bytesReceived = 0

    init(cursor: OpaquePointer, collection: OpaquePointer?, client: MongoClient, pin: ReadPin? = nil) {
        self.cursor = cursor
        self.collection = collection
        self.client = client
        self.pin = pin
    }

    deinit {
        if let pin {
            pin.serialized { _ in destroy() }
        } else {
            destroy()
            client.giveBack()
        }
    }

    private func destroy() {
        mongoc_cursor_destroy(cursor)
        if let collection { mongoc_collection_destroy(collection) }
    }

    /// The next document, `nil` at the end; throws the server's error.
    public func nextDocument() throws -> Document? {
        if let failure { throw failure }
        if exhausted { return nil }
        if let pin { return try pin.serialized { _ in try fetchNext() } }
        return try fetchNext()
    }

    /// The next document from the server; called holding the pin's lock when there is one.
    private func fetchNext() throws -> Document? {
        var doc: OpaquePointer?
        if mongoc_cursor_next(cursor, &doc), let doc {
            bytesReceived += Int(readLength(doc))
            return BSONReader.document(from: doc)
        }
        var error = bson_error_t()
        var reply: OpaquePointer?
        if mongoc_cursor_error_document(cursor, &error, &reply) {
            let replyDoc = reply.map { BSONReader.document(from: $0) }
            let e = MongoError.from(error, reply: replyDoc)
            failure = e
            throw e
        }
        exhausted = true
        return nil
    }

    /// `IteratorProtocol` conformance; an error ends the sequence and is kept in `error`.
    public func next() -> Document? {
        do { return try nextDocument() } catch { return nil }
    }

    /// The error that ended iteration through `next()`, if any.
    public var error: MongoError? { failure }

    /// Drains the cursor into an array.
    public func all() throws -> [Document] {
        var out: [Document] = []
        while let d = try nextDocument() { out.append(d) }
        return out
    }
}
