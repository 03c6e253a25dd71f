import Foundation
import StrataEvaluator

/// The shared datasets' generator (`gen.py`, run with python3), as the benchmark and the
/// tests call it.
package enum DatasetGenerator {
    /// Writes `<dataset>.mixed.jsonl`, `<dataset>.truth.jsonl` (and `products.jsonl` for
    /// devices) into `directory`; a failure carries gen.py's stderr.
    package static func generate(_ generator: URL, dataset: String, count: Int, seed: Int, dist: String?, into directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var args = ["python3", generator.path, "--dataset", dataset, "--count", String(count), "--seed", String(seed), "--out", directory.path]
        if let dist { args += ["--dist", dist] }
        let run = try Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), args, capture: .standardError)
        guard run.status == 0 else {
            throw StrataError.badInput("gen.py failed: " + String(decoding: run.captured, as: UTF8.self), at: Location(file: generator.path))
        }
    }
}

/// A child process run to its end, one of its output streams captured (the other inherited).
package enum Subprocess {
    package enum Stream: Sendable { case standardOutput, standardError }

    package static func run(_ executable: URL, _ arguments: [String], capture: Stream) throws -> (status: Int32, captured: Data) {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let pipe = Pipe()
        switch capture {
        case .standardOutput: p.standardOutput = pipe
        case .standardError: p.standardError = pipe
        }
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }
}
