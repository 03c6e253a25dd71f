import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// A file of Extended JSON documents, one per line (relaxed or canonical),
/// held as bytes (memory-mapped for files) and parsed line by line.
///
/// Blank lines (only spaces, tabs, `\r`) are skipped; a UTF-8 byte order mark
/// at the start is ignored. Every other line must hold exactly one JSON object:
/// an array, a bare value, or two objects on a line are errors naming the line.
public struct JSONLines: Sendable {
    /// The name used in messages (`data/users.jsonl`, `<stdin>`).
    package let name: String
    package let data: Data

    package init(data: Data, name: String) {
        self.data = data
        self.name = name
    }

    /// Maps the file (read lazily by the kernel; a large file costs no memory).
    package init(contentsOf url: URL) throws {
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw StrataError.badInput("cannot read the file: \(Self.reason(error))", at: Location(file: url.path))
        }
        name = url.path
    }

    /// Reads standard input to its end.
    package static func standardInput() -> JSONLines {
        JSONLines(data: FileHandle.standardInput.readDataToEndOfFile(), name: "<stdin>")
    }

    /// Calls `body` with each non-blank line's 1-based number and parsed document.
    /// A malformed line throws `.badInput` at `name:line`.
    package func forEachDocument(_ body: (_ line: Int, _ document: Document) throws -> Void) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lineNumber = 0
            var start = 0
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
            while start < bytes.count {
                lineNumber += 1
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                guard let document = try parse(line, lineNumber: lineNumber) else { continue }
                try body(lineNumber, document)
            }
        }
    }

    /// Parses every line and returns the number of documents, inserting nothing.
    package func validate() throws -> Int {
        var n = 0
        try forEachDocument { _, _ in n += 1 }
        return n
    }

    func location(_ line: Int) -> Location { Location(file: "\(name):\(line)") }

    /// The document on one line; `nil` for a blank line.
    func parse(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> Document? {
        var first = 0
        var last = line.count
        while first < last, Self.isSpace(line[first]) { first += 1 }
        while last > first, Self.isSpace(line[last - 1]) { last -= 1 }
        if first == last { return nil }
        let content = UnsafeBufferPointer(rebasing: line[first..<last])
        guard content[0] == UInt8(ascii: "{") else {
            throw StrataError.badInput("expected one JSON object per line, found \(Self.describeStart(content))",
                                       at: location(lineNumber))
        }
        guard let text = String(validating: content, as: UTF8.self) else {
            throw StrataError.badInput("the line is not valid UTF-8", at: location(lineNumber))
        }
        let document: Document
        do {
            document = try ExtendedJSON.parseDocument(text)
        } catch {
            throw StrataError.badInput("not valid Extended JSON: \(error)", at: location(lineNumber))
        }
        // libbson stops after the first object: make sure nothing follows it.
        if let end = Self.endOfFirstObject(content), end < content.count {
            throw StrataError.badInput("more than one JSON value on the line (text after the object at column \(end + 1))",
                                       at: location(lineNumber))
        }
        return document
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

    /// The index just past the `}` that closes the object starting at 0 (strings
    /// and escapes respected), or `nil` when it is not closed.
    static func endOfFirstObject(_ s: UnsafeBufferPointer<UInt8>) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for i in 0..<s.count {
            let c = s[i]
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
        }
        return nil
    }

    static func describeStart(_ s: UnsafeBufferPointer<UInt8>) -> String {
        let prefix = String(decoding: s.prefix(20), as: UTF8.self)
        let what: String
        switch s[0] {
        case UInt8(ascii: "["): what = "an array"
        case UInt8(ascii: "\""): what = "a string"
        default: what = "'\(prefix)\(s.count > 20 ? "..." : "")'"
        }
        return what
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if ns.domain == NSCocoaErrorDomain && ns.code == NSFileReadNoSuchFileError { return "no such file" }
        return ns.localizedDescription
    }
}
