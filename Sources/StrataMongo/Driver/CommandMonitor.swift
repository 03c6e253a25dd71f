import CMongoc
import Foundation
import StrataBSON
import StrataLibBSON
import Synchronization

/// Records the commands a pool's clients send (libmongoc's command monitoring, APM):
/// what tests assert about the wire — every read of a query carrying one snapshot,
/// say. Set it when the pool is made (`MongoPool(uri:monitor:)`); libmongoc takes APM
/// callbacks only before the first client is popped.
public final class CommandMonitor: Sendable {
    /// One command as it was sent.
    package struct Started: Sendable {
        package let commandName: String
        package let databaseName: String
        package let command: Document
    }

    private let started = Mutex<[Started]>([])

    package init() {}

    /// The commands sent since the monitor was made (or last `reset()`), in order.
    package var startedCommands: [Started] {
        started.withLock { $0 }
    }

    package func reset() {
        started.withLock { $0 = [] }
    }

    func record(_ s: Started) {
        started.withLock { $0.append(s) }
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
