import Foundation
import StrataBSON
import Synchronization

/// A cursor read ahead on a thread of its own: the first chunk is read on the caller's
/// thread (which would wait for it anyway); when the cursor ends within it — a selective
/// query's usual case — no thread is started at all. Otherwise the open cursor moves to
/// a reading thread, which iterates and closes it there only, handing its documents
/// over in chunks, so the next batch is requested (and decoded into Swift values) while
/// the caller is still working on the last one. At most `ahead` chunks wait, so memory
/// stays bounded when the caller is slower than the server. Closing early (`close()`,
/// or dropping the last reference) stops the reader and waits for it to let go of the
/// cursor.
package final class PrefetchingCursor {
    private let state: State
    private var current: [Document] = []
    private var index = 0

    /// `open` runs on the caller's thread, which reads the first chunk too; with
    /// `firstChunkHere: false`, both on the reading thread (cursors opened side by side,
    /// whose first batches the server then works on at once).
    package init(chunkSize: Int = 500, ahead: Int = 4, firstChunkHere: Bool = true,
                 _ open: @escaping @Sendable () throws -> MongoCursor) {
        let state = State(ahead: max(1, ahead))
        self.state = state
        let size = max(1, chunkSize)
        guard firstChunkHere else {
            Self.startReader(state, chunkSize: size, open)
            return
        }
        do {
            let cursor = try open()
            var first: [Document] = []
            while first.count < size, let d = try cursor.nextDocument() { first.append(d) }
            current = first
            if first.count < size {
                state.finish(bytes: cursor.bytesReceived, failure: nil)
                return
            }
            // Handed over whole: from here on only the reading thread touches it.
            let handoff = Mutex<MongoCursor?>(cursor)
            Self.startReader(state, chunkSize: size) {
                guard let cursor = handoff.withLock({ $0.take() }) else {
                    throw MongoError(kind: .client, message: "the cursor was handed to its reading thread twice")
                }
                return cursor
            }
        } catch {
            state.finish(bytes: 0, failure: error)
        }
    }

    private static func startReader(_ state: State, chunkSize: Int, _ open: @escaping @Sendable () throws -> MongoCursor) {
        let thread = Thread { state.read(chunkSize: chunkSize, open) }
        thread.stackSize = 4 << 20
        thread.start()
    }

    deinit { state.close() }

    /// The next document, `nil` at the end; throws the server's (or the open's) error.
    package func nextDocument() throws -> Document? {
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
    package var bytesReceived: Int { state.bytes }

    /// Stops reading ahead and waits until the reader has closed the cursor.
    package func close() { state.close() }

    /// Shared by the caller and the reading thread: the chunks under a `Mutex`, and
    /// semaphores for the waits — `free` counts the chunks the reader may still hand
    /// over, `ready` one signal per chunk handed over plus one at the end (given back by
    /// every `take` that finds the end, so it stays signalled) — and `reading`, which the
    /// reader leaves once it has let go of the cursor.
    private final class State: Sendable {
        private struct Chunks {
            var waiting: [[Document]] = []
            var finished = false
            var cancelled = false
            var failure: Error?
            var received = 0
        }

        private let chunks = Mutex(Chunks())
        private let free: DispatchSemaphore
        private let ready = DispatchSemaphore(value: 0)
        private let reading = DispatchGroup()

        init(ahead: Int) {
            // Made at 0 and signalled up to `ahead`: libdispatch traps when a semaphore is
            // freed below the value it was made with, which `free` is after a close that
            // drops waiting chunks.
            free = DispatchSemaphore(value: 0)
            for _ in 0..<ahead { free.signal() }
            reading.enter()
        }

        /// The end, reached without a reading thread (or before one could start).
        func finish(bytes: Int, failure: Error?) {
            chunks.withLock { c in
                c.received = bytes
                c.failure = failure
                c.finished = true
            }
            ready.signal()
            reading.leave()
        }

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
                let bytes = cursor.bytesReceived
                chunks.withLock { $0.received = bytes }
            } catch {
                chunks.withLock { $0.failure = error }
            }
            // The cursor is gone (given back to the pool) before the caller hears the end.
            chunks.withLock { $0.finished = true }
            ready.signal()
            reading.leave()
        }

        /// Hands a chunk over, waiting while `ahead` are waiting; false once cancelled.
        private func put(_ chunk: [Document], bytes: Int) -> Bool {
            free.wait()
            let handed = chunks.withLock { c in
                if c.cancelled { return false }
                c.waiting.append(chunk)
                c.received = bytes
                return true
            }
            if handed { ready.signal() }
            return handed
        }

        func take() throws -> [Document]? {
            ready.wait()
            let (chunk, failure) = chunks.withLock { c -> ([Document]?, Error?) in
                c.waiting.isEmpty ? (nil, c.failure) : (c.waiting.removeFirst(), nil)
            }
            // A chunk frees a place for the reader; the end stays signalled for the next take.
            if let chunk {
                free.signal()
                return chunk
            }
            ready.signal()
            if let failure { throw failure }
            return nil
        }

        var bytes: Int { chunks.withLock { $0.received } }

        func close() {
            chunks.withLock { c in
                c.cancelled = true
                c.waiting = []
            }
            // Wakes the reader if it waits for a place; it sees `cancelled` and stops.
            free.signal()
            reading.wait()
        }
    }
}
