import StrataBSON
import StrataLibBSON

/// Where the results of a writing query go while its read part runs, and what writes
/// them into the target once it is done. One per run, used from the thread that runs
/// the query.
protocol ResultSink: AnyObject {
    /// One result, in the pipeline's order.
    func add(_ doc: Document) throws
    /// After the last result: writes what is left and returns what was written.
    func finish() throws -> WriteSummary
    /// Drops the temporary collections (after success or failure alike).
    func cleanUp()
}

/// Results gathered into batches bounded in count and bytes, as a write command carries them.
struct ResultBatch<Item> {
    static var maxCount: Int { 1000 }
    static var maxBytes: Int { 8 << 20 }

    private(set) var items: [Item] = []
    private var bytes = 0

    /// Adds one; true when the batch is full and should be written.
    mutating func add(_ item: Item, size: Int) -> Bool {
        items.append(item)
        bytes += size
        return items.count >= Self.maxCount || bytes >= Self.maxBytes
    }

    /// The items, leaving the batch empty.
    mutating func take() -> [Item] {
        defer { items = []; bytes = 0 }
        return items
    }
}
