import Foundation
import Strata
import StrataMongo
import Synchronization

/// A MongoDB server for tests: the embedded SecantusDB, started in memory from its
/// virtualenv on a free loopback port, or a server already running.
///
/// `start()` attaches to `STRATA_TEST_URI` when it is set (a server the test run was
/// given: `make test` starts one), and otherwise starts SecantusDB's `secantusd-py`
/// from the first virtualenv found of: `$STRATA_SECANTUS_VENV`, a `.venv` in the current
/// directory or one of its parents (`swift test` runs at the package's root), and
/// strata's own checkout. `start(venv:)` starts the server of that virtualenv, whatever
/// the environment says. `stop()` (or the end of the process)
/// ends a server it started; an attached server is left running.
///
/// ```swift
/// let server = try StrataTestServer.start()
/// defer { server.stop() }
/// let db = try server.freshDatabase("orders_test")
/// ```
public final class StrataTestServer: Sendable {
    /// The connection string (`mongodb://127.0.0.1:PORT/?directConnection=true` for the embedded server).
    public let uri: String
    /// Whether this object started the server (and `stop()` ends it).
    public let startedHere: Bool
    /// The server's process while it runs, when this object started it.
    private let process: Mutex<Process?>

    /// Attaches to the server at `uri`; `stop()` leaves it running.
    public init(attachingTo uri: String) {
        self.uri = uri
        self.startedHere = false
        self.process = Mutex(nil)
    }

    private init(uri: String, process: sending Process) {
        self.uri = uri
        self.startedHere = true
        self.process = Mutex(process)
    }

    deinit { stop() }

    /// Attaches to `uri`, else (no `venv` given) to `$STRATA_TEST_URI`, else starts the
    /// embedded server in memory — from `venv`, else `$STRATA_SECANTUS_VENV`, a `.venv` above
    /// the current directory, or strata's checkout — and waits until it answers a `ping`
    /// (at most `timeout` seconds).
    public static func start(uri: String? = nil, venv: URL? = nil, timeout: TimeInterval = 60) throws -> StrataTestServer {
        if let uri, !uri.isEmpty { return StrataTestServer(attachingTo: uri) }
        if venv == nil, let uri = ProcessInfo.processInfo.environment["STRATA_TEST_URI"], !uri.isEmpty {
            return StrataTestServer(attachingTo: uri)
        }
        let executable = try serverExecutable(venv: venv)
        let port = try freePort()
        let uri = "mongodb://127.0.0.1:\(port)/?directConnection=true"
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--host", "127.0.0.1", "--port", String(port), "--storage-path", ":memory:", "--log-level", "ERROR"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw StrataTestingError("could not start the embedded server \(executable.path): \(error)")
        }
        let pid = process.processIdentifier
        Self.started.withLock { _ = $0.insert(pid) }
        _ = Self.registerExitHandler
        let server = StrataTestServer(uri: uri, process: process)
        let deadline = Date().addingTimeInterval(timeout)
        while !answers(port: port) {
            if let status = server.exitStatus {
                server.stop()
                throw StrataTestingError("the embedded server (\(executable.path)) exited at start, status \(status)")
            }
            guard Date() < deadline else {
                server.stop()
                throw StrataTestingError("the embedded server did not accept connections on port \(port) within \(Int(timeout)) s")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        // Accepting connections is not yet answering commands.
        var lastError: Error?
        while Date() < deadline {
            do {
                _ = try MongoDatabase(pool: try server.pool(), name: "admin").runCommand(["ping": 1])
                return server
            } catch {
                lastError = error
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        server.stop()
        throw StrataTestingError("the embedded server on port \(port) did not answer ping within \(Int(timeout)) s: \(lastError.map { "\($0)" } ?? "")")
    }

    /// Ends the server if this object started it (SIGTERM, then SIGKILL after 10 s),
    /// waiting for it to exit. Idempotent; an attached server is left running.
    public func stop() {
        let pid: Int32? = process.withLock { process in
            guard let p = process else { return nil }
            process = nil
            if p.isRunning {
                p.terminate()
                let deadline = Date().addingTimeInterval(10)
                while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                p.waitUntilExit()
            }
            return p.processIdentifier
        }
        if let pid { Self.started.withLock { _ = $0.remove(pid) } }
    }

    /// The exit status of a server this object started that has exited; nil while it runs.
    var exitStatus: Int32? {
        process.withLock { p in p.flatMap { $0.isRunning ? nil : $0.terminationStatus } }
    }

    /// The process-wide connection pool to this server.
    public func pool() throws -> MongoPool { try MongoPool.shared(uri: uri) }

    /// The database `name`, dropped first: a test's own.
    public func freshDatabase(_ name: String) throws -> MongoDatabase {
        let db = MongoDatabase(pool: try pool(), name: name)
        try db.drop()
        return db
    }

    // MARK: finding and watching the server

    /// Servers started by this process and not yet stopped: killed at exit, so that a test
    /// process that ends without `stop()` (or crashes past it) leaves none behind.
    private static let started = Mutex<Set<Int32>>([])
    private static let registerExitHandler: Void = {
        atexit {
            let pids = StrataTestServer.started.withLock { $0 }
            for pid in pids { kill(pid, SIGKILL) }
        }
    }()

    /// The `secantusd-py` of the first virtualenv found (see `start`).
    static func serverExecutable(venv: URL?) throws -> URL {
        var candidates: [URL] = []
        if let venv {
            let exe = venv.appendingPathComponent("bin/secantusd-py")
            guard FileManager.default.isExecutableFile(atPath: exe.path) else {
                throw StrataTestingError("no embedded server at \(exe.path) (the virtualenv given has no bin/secantusd-py)")
            }
            return exe
        }
        if let env = ProcessInfo.processInfo.environment["STRATA_SECANTUS_VENV"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env, isDirectory: true))
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        while true {
            candidates.append(dir.appendingPathComponent(".venv", isDirectory: true))
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path || dir.path == "/" { break }
            dir = parent
        }
        // strata's own checkout: Sources/StrataTesting/<this file> is three levels below it.
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(checkout.appendingPathComponent(".venv", isDirectory: true))
        for venv in candidates {
            let exe = venv.appendingPathComponent("bin/secantusd-py")
            if FileManager.default.isExecutableFile(atPath: exe.path) { return exe }
        }
        throw StrataTestingError(
            "no embedded server: none of these virtualenvs has bin/secantusd-py: \(candidates.map(\.path).joined(separator: ", ")) "
                + "(set STRATA_SECANTUS_VENV to one, run `make venv` in strata's checkout, or set STRATA_TEST_URI to a running server)")
    }

    static func answers(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StrataTestingError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw StrataTestingError("could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
