import Foundation
import StrataBSON
import StrataTestFixtures
import StrataMongo

/// An embedded server of a test's own, for what must not happen to the shared one:
/// fault injection (`--enable-test-commands`: mongod's `configureFailPoint` with
/// `failCommand`), being killed mid-query, a standalone topology. In memory, on a
/// free loopback port; `stop()` (or `kill()`) ends it.
public final class PrivateServer: @unchecked Sendable {
    public let port: Int
    public let uri: String
    private let process: Process

    /// Starts `secantusd-py` from `.venv` with `arguments` added (e.g.
    /// `["--enable-test-commands"]`, `["--standalone"]`) and waits until it answers.
    /// `storage`: a folder that outlives the server (to restart it with `--auth` after
    /// creating users); nil: in memory.
    public init(arguments: [String] = [], storage: URL? = nil) throws {
        let venv = TestServer.repositoryRoot.appendingPathComponent(".venv/bin/secantusd-py")
        guard FileManager.default.isExecutableFile(atPath: venv.path) else {
            throw TestSupportError("no embedded server at \(venv.path): run `make venv` first")
        }
        port = try Self.freePort()
        uri = "mongodb://127.0.0.1:\(port)/?directConnection=true"
        process = Process()
        process.executableURL = venv
        process.arguments = ["--host", "127.0.0.1", "--port", String(port), "--storage-path", storage?.path ?? ":memory:",
                             "--log-level", "ERROR"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if Self.answers(port: port) { return }
            guard process.isRunning else { throw TestSupportError("the private server exited at start (port \(port))") }
            Thread.sleep(forTimeInterval: 0.2)
        }
        process.terminate()
        throw TestSupportError("the private server did not answer within 30 s (port \(port))")
    }

    deinit { kill() }

    /// Stops the server as an operator would (SIGTERM), waiting for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Whether something accepts connections on the port (a server with `--auth` answers
    /// only the handshake before authentication).
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

    /// Ends the server at once (SIGKILL): connections drop mid-command.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Arms mongod's `failCommand` fail point (`data`: `failCommands`, `errorCode`,
    /// `errorLabels`, `closeConnection`, `blockConnection`/`blockTimeMS`) for `mode`
    /// (`{times: n}`, "alwaysOn", "off").
    public func failCommand(_ data: Document, mode: BSON = ["times": 1], pool: MongoPool) throws {
        _ = try MongoDatabase(pool: pool, name: "admin").runCommand([
            "configureFailPoint": "failCommand", "mode": mode, "data": .document(data),
        ])
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw TestSupportError("could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
