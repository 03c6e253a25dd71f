import StrataBSON

/// A document read through a `VersionedRepository`: the newest-version document
/// to work with, and what the server held when it was read (the guard `save` uses).
public struct VersionedDocument: Sendable {
    /// The document at the newest version (projected, when the read asked for a projection).
    /// Change it and pass the whole value to `save`.
    public var document: Document
    /// The document exactly as stored when it was read (after any write-back); `nil` for a
    /// projected read (which cannot be saved) and for a document not yet stored.
    public let stored: Document?
    /// The version it was stored at when read (before any write-back); `nil` when not stored.
    public let storedVersion: Int?
    /// The version the read wrote the document back at (write-back policy), if it did.
    public let writtenBack: Int?
    /// True when a projection left fields out of `document`.
    public let isProjected: Bool

    public init(document: Document, stored: Document?, storedVersion: Int?, writtenBack: Int? = nil, isProjected: Bool = false) {
        self.document = document
        self.stored = stored
        self.storedVersion = storedVersion
        self.writtenBack = writtenBack
        self.isProjected = isProjected
    }

    /// A new document, not stored yet (`save` then inserts it).
    public init(new document: Document) {
        self.init(document: document, stored: nil, storedVersion: nil)
    }

    /// `_id` of the newest-version document.
    public var id: BSON? { document["_id"] }

    /// `document[key]`, read and written.
    public subscript(key: String) -> BSON? {
        get { document[key] }
        set { document[key] = newValue }
    }
}
