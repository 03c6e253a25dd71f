import Foundation
import StrataBSON

/// A cursor read ahead on a thread of its own: the cursor is opened, iterated and
/// closed on that thread only, and its documents handed over in chunks, so the next
/// batch is requested (and decoded into Swift values) while the caller is still
/// working on the last one. At most `ahead` chunks wait, so memory stays bounded when
/// the caller is slower than the server. Closing early (`close()`, or dropping the
/// last reference) stops the reader and waits for it to let go of the cursor.
public final class PrefetchingCursor {
    private let state: State
    private var current: [Document] = []
    private var index = 0

    /// `open` runs on the reading thread.
    public init(chunkSize: Int = 500, ahead: Int = 4, _ open: @escaping @Sendable () throws -> MongoCursor) {
        let state = State(ahead: max(1, ahead))
        self.state = state
        let size = max(1, chunkSize)
        let thread = Thread {
            state.read(chunkSize: size, open)
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    deinit { state.close() }

    /// The next document, `nil` at the end; throws the server's (or the open's) error.
    public func nextDocument() throws -> Document? {
        if index < current.count {
            defer { index += 1 }
            return current[index]
        }
        guard let chunk = try state.take() else { return nil }
        current = chunk
        index = 1
        return chunk[0]
    }

    /// Bytes of BSON received so far.
    public var bytesReceived: Int { state.bytes }

    /// Stops reading ahead and waits until the reader has closed the cursor.
    public func close() { state.close() }

    private final class State: @unchecked Sendable {
        private let condition = NSCondition()
        private let ahead: Int
        // Guarded by `condition`.
        private var chunks: [[Document]] = []
        private var finished = false
        private var cancelled = false
        private var failure: Error?
        private var received = 0

        init(ahead: Int) { self.ahead = ahead }

        func read(chunkSize: Int, _ open: () throws -> MongoCursor) {
            do {
                let cursor = try open()
                var chunk: [Document] = []
                chunk.reserveCapacity(chunkSize)
                var going = true
                while going, let d = try cursor.nextDocument() {
                    chunk.append(d)
                    if chunk.count == chunkSize {
                        going = put(chunk, bytes: cursor.bytesReceived)
                        chunk = []
                        chunk.reserveCapacity(chunkSize)
                    }
                }
                if going, !chunk.isEmpty { _ = put(chunk, bytes: cursor.bytesReceived) }
                condition.lock(); received = cursor.bytesReceived; condition.unlock()
            } catch {
                condition.lock(); failure = error; condition.unlock()
            }
            // The cursor is gone (given back to the pool) before the caller hears the end.
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }

        /// Hands a chunk over, waiting while `ahead` are waiting; false once cancelled.
        private func put(_ chunk: [Document], bytes: Int) -> Bool {
            condition.lock(); defer { condition.unlock() }
            while chunks.count >= ahead && !cancelled { condition.wait() }
            if cancelled { return false }
            chunks.append(chunk)
            received = bytes
            condition.broadcast()
            return true
        }

        func take() throws -> [Document]? {
            condition.lock(); defer { condition.unlock() }
            while chunks.isEmpty && !finished { condition.wait() }
            if !chunks.isEmpty {
                condition.broadcast()
                return chunks.removeFirst()
            }
            if let failure { throw failure }
            return nil
        }

        var bytes: Int {
            condition.lock(); defer { condition.unlock() }
            return received
        }

        func close() {
            condition.lock(); defer { condition.unlock() }
            cancelled = true
            chunks = []
            condition.broadcast()
            while !finished { condition.wait() }
        }
    }
}
