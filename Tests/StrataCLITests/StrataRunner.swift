import Foundation
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Runs the built `strata` binary and captures what it prints.
///
/// A test target cannot depend on an executable product, so the binary is
/// found on disk: `$STRATA_BIN` (the Makefile sets it), else `.build/debug/strata`
/// next to these sources. `make test` builds it before the tests.
enum StrataRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["STRATA_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return TestServer.repositoryRoot.appendingPathComponent(".build/debug/strata")
    }

    /// Runs `strata args...` in `directory`, with the test's environment less
    /// STRATA_URI and STRATA_DB, plus `environment`; `stdin` is fed to it.
    static func run(_ args: [String], in directory: URL? = nil, environment: [String: String] = [:],
                    stdin: Data? = nil, timeout: TimeInterval = 60) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSupportError("no strata binary at \(binary.path): run `swift build --product strata` (make test does) or set STRATA_BIN")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strata-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)

        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = directory ?? scratch
        var env = ProcessInfo.processInfo.environment
        env["STRATA_URI"] = nil
        env["STRATA_DB"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        let start = Date()
        try p.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            throw TestSupportError("strata \(args.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        try out.close(); try err.close()
        return Result(status: p.terminationStatus,
                      stdout: try String(contentsOf: outURL, encoding: .utf8),
                      stderr: try String(contentsOf: errURL, encoding: .utf8),
                      seconds: seconds)
    }
}

/// A temporary folder, removed at the end of the test.
final class TempFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-clitest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file
    }

    var path: String { url.path }
}
