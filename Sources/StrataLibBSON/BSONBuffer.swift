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
