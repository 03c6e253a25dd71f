import Foundation

/// Rows of a gzipped JSON-lines fixture (the decimal oracles' files), each line one JSON
/// array, read through `/bin/gzip -dc`.
public enum GzippedJSONLines {
    public static func rows(_ relativePath: String) throws -> [[Any]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", FixturePaths.repositoryRoot.appendingPathComponent(relativePath).path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestSupportError("gzip could not read \(relativePath)") }
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            guard let row = try JSONSerialization.jsonObject(with: Data(line)) as? [Any] else {
                throw TestSupportError("a line of \(relativePath) is not a JSON array")
            }
            return row
        }
    }
}
