import Foundation
import StrataBSON
import StrataEvaluator

/// What a lens needs from its surroundings to upgrade documents in Swift:
/// the application-defined functions bound by name, and a way to look values
/// up in other collections.
public struct LensContext: Sendable {
    public var functions: LensFunctions
    /// Answers a lookup: the first document of `from` whose `foreignField` equals
    /// `value` (natural order), or nil. `value == nil` means the local field is
    /// missing, which `$lookup` matches against null/missing foreign fields.
    public var lookup: (@Sendable (_ from: String, _ foreignField: String, _ value: BSON?) throws -> Document?)?
    /// The same for a `from` with a lens of its own: the first document, in natural order,
    /// of `lens.collection` read as if migrated whose newest-schema `foreignField` matches.
    public var versionedLookup: (@Sendable (_ lens: Lens, _ foreignField: String, _ value: BSON?) throws -> Document?)?

    public init(functions: LensFunctions = .builtIn,
                lookup: (@Sendable (_ from: String, _ foreignField: String, _ value: BSON?) throws -> Document?)? = nil,
                versionedLookup: (@Sendable (_ lens: Lens, _ foreignField: String, _ value: BSON?) throws -> Document?)? = nil) {
        self.functions = functions
        self.lookup = lookup
        self.versionedLookup = versionedLookup
    }
}

/// Application-defined operations, bound by name at run time. A function
/// receives the whole document and the operation's declared `reads`/`writes`.
public struct LensFunctions: Sendable {
    public typealias Function = @Sendable (_ doc: inout Document, _ reads: [[String]], _ writes: [[String]]) throws -> Void
    public private(set) var functions: [String: Function]

    public init(_ functions: [String: Function] = [:]) { self.functions = functions }

    public mutating func register(_ name: String, _ f: @escaping Function) { functions[name] = f }

    public func registering(_ name: String, _ f: @escaping Function) -> LensFunctions {
        var c = self
        c.register(name, f)
        return c
    }

    public subscript(name: String) -> Function? { functions[name] }

    /// The functions strata ships: `crc32Hex` — the CRC-32 (IEEE, as zlib.crc32)
    /// of the UTF-8 bytes of the `reads` values (strings) concatenated, written
    /// to the single `writes` path as 8 lowercase hex digits. It is the users
    /// dataset's password hash; a real application would bind its own.
    public static let builtIn = LensFunctions(["crc32Hex": crc32HexFunction])

    static let crc32HexFunction: Function = { doc, reads, writes in
        var bytes: [UInt8] = []
        for path in reads {
            guard let v = doc.value(atPath: path) else {
                throw StrataError(.upgradeFailed, "crc32Hex: '\(path.joined(separator: "."))' is missing")
            }
            guard case .string(let s) = v else {
                throw StrataError(.upgradeFailed, "crc32Hex: '\(path.joined(separator: "."))' is \(v.typeName), not a string")
            }
            bytes.append(contentsOf: s.utf8)
        }
        guard writes.count == 1 else { throw StrataError(.upgradeFailed, "crc32Hex writes exactly one field") }
        let hex = String(CRC32.checksum(bytes), radix: 16)
        DocumentPaths.put(&doc, writes[0], .string(String(repeating: "0", count: 8 - hex.count) + hex))
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's crc32.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
