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
///
/// Down functions undo what the lens cannot undo by itself (a hash, a removed field),
/// for `strata seed`, `Seeder` and a rollback (`Migrator` with an older target):
/// - a down function registered under a `custom` operation's function name undoes that
///   operation: it receives the newer document and the operation's `reads`/`writes`, and
///   must put back the `reads` so that the function computes the `writes` again;
/// - a step may name a down function (`"down": "name"` in the lens file), which then turns
///   the whole document of the step's `to` version into its `from` version (its `reads`
///   are what the step's operations read, its `writes` what they write); the version
///   field is set by strata afterwards.
/// Every document moved down is checked to upgrade back to what it was, so a down
/// function need not be an exact inverse, only one the upgrade maps back.
public struct LensFunctions: Sendable {
    public typealias Function = @Sendable (_ doc: inout Document, _ reads: [[String]], _ writes: [[String]]) throws -> Void
    public private(set) var functions: [String: Function]
    /// Down functions by name (see the type's description).
    public private(set) var downFunctions: [String: Function] = [:]

    public init(_ functions: [String: Function] = [:], down: [String: Function] = [:]) {
        self.functions = functions
        self.downFunctions = down
    }

    public mutating func register(_ name: String, _ f: @escaping Function) { functions[name] = f }

    public func registering(_ name: String, _ f: @escaping Function) -> LensFunctions {
        var c = self
        c.register(name, f)
        return c
    }

    /// Registers the down function `name`: the undo of the `custom` operation whose
    /// function is `name`, or of a step that declares `"down": "name"`.
    public mutating func registerDown(_ name: String, _ f: @escaping Function) { downFunctions[name] = f }

    public func registeringDown(_ name: String, _ f: @escaping Function) -> LensFunctions {
        var c = self
        c.registerDown(name, f)
        return c
    }

    public subscript(name: String) -> Function? { functions[name] }

    /// The down function registered as `name`, if any.
    public func down(_ name: String) -> Function? { downFunctions[name] }

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
