import CMongoc
import Foundation
import StrataBSON
import StrataLibBSON

/// Records the commands a pool's clients send (libmongoc's command monitoring, APM):
/// what tests assert about the wire — every read of a query carrying one snapshot,
/// say. Set it when the pool is made (`MongoPool(uri:monitor:)`); libmongoc takes APM
/// callbacks only before the first client is popped.
public final class CommandMonitor: @unchecked Sendable {
    /// One command as it was sent.
    public struct Started: Sendable {
        public let commandName: String
        public let databaseName: String
        public let command: Document
    }

    private let lock = NSLock()
    private var started: [Started] = []

    public init() {}

    /// The commands sent since the monitor was made (or last `reset()`), in order.
    public var startedCommands: [Started] {
        lock.lock(); defer { lock.unlock() }
        return started
    }

    public func reset() {
        lock.lock(); started = []; lock.unlock()
    }

    func record(_ s: Started) {
        lock.lock(); started.append(s); lock.unlock()
    }

    /// Installs the callbacks on `pool`; the pool keeps the monitor alive.
    func install(on pool: OpaquePointer) {
        let callbacks = mongoc_apm_callbacks_new()!
        defer { mongoc_apm_callbacks_destroy(callbacks) }
        mongoc_apm_set_command_started_cb(callbacks) { event in
            guard let event, let context = mongoc_apm_command_started_get_context(event) else { return }
            let monitor = Unmanaged<CommandMonitor>.fromOpaque(context).takeUnretainedValue()
            let name = mongoc_apm_command_started_get_command_name(event).map { String(cString: $0) } ?? ""
            let db = mongoc_apm_command_started_get_database_name(event).map { String(cString: $0) } ?? ""
            let command = mongoc_apm_command_started_get_command(event).map { BSONReader.document(from: $0) } ?? [:]
            monitor.record(Started(commandName: name, databaseName: db, command: command))
        }
        mongoc_client_pool_set_apm_callbacks(pool, callbacks, Unmanaged.passUnretained(self).toOpaque())
    }
}
