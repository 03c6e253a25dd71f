import Strata
import StrataBSON
import StrataEvaluator

/// A plain password for a CRC-32 hash: the down function that undoes the users lens's
/// `crc32Hex` (password := CRC-32 of first + last + plain password), so that users can
/// be seeded at versions 0 and 1.
///
/// CRC-32 is affine over GF(2) for messages of one length: flipping a set of input bits
/// changes the checksum by the XOR of what each flip alone changes it by, and what a flip
/// changes depends only on its distance from the end of the message, not on what comes
/// before. So with a password of `length` characters each 'a' or 'b' (which differ in two
/// bits), start from all 'a's after the name; each position's flip to 'b' adds a fixed
/// 32-bit vector; choosing which to flip is a 32 × `length` linear system over GF(2),
/// solved by elimination. 48 positions span all 2^32 checksums (checked by the tests), so
/// every hash has such a preimage.
enum CRC32Preimage {
    static let length = 48

    /// A basis of the span of the flip vectors: each entry a vector with a distinct
    /// leading bit and the positions (bit i: position i flipped) whose flips sum to it.
    static let basis: [(vector: UInt32, positions: UInt64)] = {
        let base = [UInt8](repeating: UInt8(ascii: "a"), count: length)
        let c0 = CRC32.checksum(base)
        var basis: [(vector: UInt32, positions: UInt64)] = []
        for i in 0..<length {
            var flipped = base
            flipped[i] = UInt8(ascii: "b")
            var v = CRC32.checksum(flipped) ^ c0, p = UInt64(1) << UInt64(i)
            for b in basis where v & highBit(b.vector) != 0 {
                v ^= b.vector
                p ^= b.positions
            }
            if v != 0 {
                // Keep the basis reduced: no other entry has this one's leading bit.
                for j in basis.indices where basis[j].vector & highBit(v) != 0 {
                    basis[j].vector ^= v
                    basis[j].positions ^= p
                }
                basis.append((v, p))
            }
        }
        return basis
    }()

    static func highBit(_ v: UInt32) -> UInt32 { v == 0 ? 0 : UInt32(1) << UInt32(31 - v.leadingZeroBitCount) }

    /// The dimension of the span of the flips: 32 when every checksum is reachable.
    static var rank: Int { basis.count }

    /// A password of `length` 'a's and 'b's with CRC-32(prefix + password) == crc.
    static func password(prefix: [UInt8], crc: UInt32) throws -> String {
        let base = [UInt8](repeating: UInt8(ascii: "a"), count: length)
        var r = CRC32.checksum(prefix + base) ^ crc
        var positions: UInt64 = 0
        for b in basis where r & highBit(b.vector) != 0 {
            r ^= b.vector
            positions ^= b.positions
        }
        guard r == 0 else { throw StrataError.badInput("no \(length)-character a/b password has CRC-32 \(String(crc, radix: 16))") }
        return String((0..<length).map { positions & (UInt64(1) << UInt64($0)) != 0 ? "b" : "a" })
    }

    /// The down function of `crc32Hex` (`LensFunctions.registerDown("crc32Hex", ...)`): the
    /// written path holds the hash; the reads before it (the name) are the prefix; the
    /// written path, which is also the last read, gets a plain password that hashes back.
    static let down: LensFunctions.Function = { doc, reads, writes in
        guard writes.count == 1, reads.last == writes[0] else {
            throw StrataError.badInput("crc32Hex's down function expects the written field to be the last read")
        }
        guard case .string(let hex)? = doc.value(atPath: writes[0]), hex.count == 8, let crc = UInt32(hex, radix: 16) else {
            throw StrataError.badInput("'\(writes[0].joined(separator: "."))' is not 8 hex digits")
        }
        var prefix: [UInt8] = []
        for path in reads.dropLast() {
            guard case .string(let s)? = doc.value(atPath: path) else {
                throw StrataError.badInput("'\(path.joined(separator: "."))' is not a string")
            }
            prefix += Array(s.utf8)
        }
        put(&doc, writes[0][...], .string(try password(prefix: prefix, crc: crc)))
    }

    static func put(_ doc: inout Document, _ path: ArraySlice<String>, _ value: BSON) {
        guard let first = path.first else { return }
        if path.count == 1 { doc[first] = value; return }
        var sub = doc[first]?.documentValue ?? Document()
        put(&sub, path.dropFirst(), value)
        doc[first] = .document(sub)
    }

    /// The built-in functions plus this down function.
    static let functions = LensFunctions.builtIn.registeringDown("crc32Hex", down)
}
