import Foundation
import StrataBSON
import StrataLibBSON
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private directory for one operator's sorted runs: `strata-spill-<pid>-<random>`
/// under the base (`TMPDIR`, else /tmp), holding only files named `run-<n>`.
///
/// Removed with everything in it by `remove()` — after success, after an error (the
/// operator's `deinit`), and on SIGINT/SIGTERM (`installSignalCleanup`). A directory a
/// crash leaves behind is removed by `removeStale` (its pid is no longer running), which
/// the first spill of a process runs on its base, and `strata run` on start.
package final class SpillDirectory {
    package static let prefix = "strata-spill-"

    package let path: String
    private var runs = 0
    private var removed = false

    /// The directories alive in this process, for the signal cleanup.
    private static let live = Mutex<Set<String>>([])

    /// The bases this process has swept for stale directories (once each).
    private static let swept = Mutex<Set<String>>([])

    package init(base: String? = nil) throws {
        let root = base ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        if Self.swept.withLock({ $0.insert(root).inserted }) { Self.removeStale(base: root) }
        var template = Array("\(root)/\(Self.prefix)\(getpid())-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StrataError.evaluation("cannot make a spill directory in \(root): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
        _ = Self.live.withLock { $0.insert(path) }
    }

    deinit { remove() }

    /// A new run file, to write.
    package func makeRun() throws -> SpillRunWriter {
        let file = "\(path)/run-\(runs)"
        runs += 1
        return try SpillRunWriter(path: file)
    }

    /// Deletes the runs and the directory (again: nothing).
    package func remove() {
        guard !removed else { return }
        removed = true
        Self.removeTree(path)
        _ = Self.live.withLock { $0.remove(path) }
    }

    /// Deletes `dir`'s files (runs only: no subdirectories) and `dir`.
    static func removeTree(_ dir: String) {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for e in entries { unlink("\(dir)/\(e)") }
        }
        rmdir(dir)
    }

    /// Removes every spill directory under `base` whose process is gone (a crash, a kill -9);
    /// returns how many.
    @discardableResult
    package static func removeStale(base: String? = nil) -> Int {
        let root = base ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return 0 }
        var n = 0
        for e in entries where e.hasPrefix(prefix) {
            guard let pid = Int32(e.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                removeTree("\(root)/\(e)")
                n += 1
            }
        }
        return n
    }

    /// Removes every live spill directory of this process (the signal cleanup calls it).
    package static func removeAllLive() {
        let dirs = live.withLock { dirs in defer { dirs.removeAll() }; return dirs }
        for d in dirs { removeTree(d) }
    }

    private static let signalSources = Mutex<[DispatchSourceSignal]>([])

    /// On SIGINT and SIGTERM: removes this process's spill directories, then exits with
    /// 128 + the signal (130 for Ctrl-C, as a shell reports it). For a command that does
    /// not handle the signals itself.
    package static func installSignalCleanup() {
        signalSources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler {
                    removeAllLive()
                    // Dispatch reads the signal through a signalfd, so re-raising it would
                    // only come back here: exit with the shell's status for it instead.
                    _exit(128 + sig)
                }
                s.resume()
                sources.append(s)
            }
        }
    }
}

/// A finished run: a file of BSON documents in the order they were written.
package struct SpillRun {
    package let path: String
    package let documents: Int

    /// A reader from the start.
    package func open() throws -> SpillRunReader { try SpillRunReader(path: path) }
}

/// Writes documents to a run file as concatenated BSON, through a 1 MB buffer.
package final class SpillRunWriter {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var count = 0
    private var closed = false

    init(path: String) throws {
        self.path = path
        guard let f = fopen(path, "wb") else {
            throw StrataError.evaluation("cannot write the spill file \(path): \(String(cString: strerror(errno)))")
        }
        setvbuf(f, nil, _IOFBF, 1 << 20)
        file = f
    }

    deinit { if !closed { fclose(file) } }

    package func write(_ doc: Document) throws {
        let buffer = BSONBuffer(doc)
        let n = buffer.byteCount
        guard buffer.withBytes({ fwrite($0.baseAddress, 1, n, file) }) == n else {
            throw StrataError.evaluation("cannot write the spill file \(path) (is the disk full?): \(String(cString: strerror(errno)))")
        }
        count += 1
    }

    /// Flushes and closes the file.
    package func finish() throws -> SpillRun {
        closed = true
        guard fclose(file) == 0 else {
            throw StrataError.evaluation("cannot write the spill file \(path) (is the disk full?): \(String(cString: strerror(errno)))")
        }
        return SpillRun(path: path, documents: count)
    }
}

/// Reads a run's documents one at a time, through a 256 KB buffer (a merge opens up to
/// `MemoryBudget.maxRuns` of them at once).
package final class SpillRunReader {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var bytes: [UInt8] = []

    init(path: String) throws {
        self.path = path
        guard let f = fopen(path, "rb") else {
            throw StrataError.evaluation("cannot read the spill file \(path): \(String(cString: strerror(errno)))")
        }
        setvbuf(f, nil, _IOFBF, 1 << 18)
        file = f
    }

    deinit { fclose(file) }

    /// The next document; nil at the end of the file.
    package func next() throws -> Document? {
        var header = [UInt8](repeating: 0, count: 4)
        let got = fread(&header, 1, 4, file)
        if got == 0 && feof(file) != 0 { return nil }
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard got == 4, length >= 5, length <= 1 << 30 else { throw corrupt("a document's length is \(got == 4 ? "\(length)" : "cut off")") }
        if bytes.count < length { bytes = [UInt8](repeating: 0, count: length) }
        bytes.replaceSubrange(0..<4, with: header)
        let body = bytes.withUnsafeMutableBytes { fread($0.baseAddress! + 4, 1, length - 4, file) }
        guard body == length - 4 else { throw corrupt("the file ends inside a document") }
        guard let doc = bytes.withUnsafeBytes({ BSONBuffer.document(fromBytes: UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) else {
            throw corrupt("a document is not valid BSON")
        }
        return doc
    }

    func corrupt(_ what: String) -> StrataError {
        StrataError.evaluation("the spill file \(path) is damaged: \(what)")
    }
}
