import CBSON
import StrataBSON

/// Owns one heap `bson_t` (allocated by libbson, so correctly aligned) and
/// frees it in `deinit`. Never leaves the package (StrataMongo hands it to libmongoc).
package final class BSONBuffer {
    package let pointer: OpaquePointer

    /// Takes ownership of a `bson_t *` returned by `bson_new*`.
    package init(owning pointer: OpaquePointer) { self.pointer = pointer }

    package convenience init() { self.init(owning: bson_new()!) }

    /// Encodes a Swift document with libbson's appenders.
    package convenience init(_ document: Document) {
        self.init()
        BSONWriter.append(document, to: pointer)
    }

    /// Copies a borrowed `const bson_t *` (e.g. a cursor's current document).
    package convenience init(copying borrowed: OpaquePointer) { self.init(owning: bson_copy(borrowed)!) }

    deinit { bson_destroy(pointer) }

    package var document: Document { BSONReader.document(from: pointer) }

    package var byteCount: Int { Int(bson_get_data(pointer) != nil ? readLength(pointer) : 0) }
}

/// The `len` of a bson_t: its first four data bytes, little-endian.
package func readLength(_ b: OpaquePointer) -> UInt32 {
    guard let data = bson_get_data(b) else { return 0 }
    return UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
}

extension BSONBuffer {
    /// The encoded document's bytes, for the duration of `body`.
    package func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        guard let data = bson_get_data(pointer) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: data, count: byteCount))
    }

    /// Decodes one encoded document (its length prefix first); nil when the bytes are not
    /// a structurally valid BSON document.
    package static func document(fromBytes bytes: UnsafeRawBufferPointer) -> Document? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let b = bson_new_from_data(base, bytes.count) else { return nil }
        let buffer = BSONBuffer(owning: b)
        var offset = 0
        guard bson_validate(buffer.pointer, BSON_VALIDATE_NONE, &offset) else { return nil }
        return buffer.document
    }
}
