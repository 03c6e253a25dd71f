import CBSON

// libbson declares `bson_t` and `bson_iter_t` with `aligned(128)`. Swift sees
// them with 4- or 8-byte alignment, so a Swift local of either type may be
// misaligned (seen at 32 mod 128). Every stack-allocated one in this module and
// in StrataMongo comes from these two helpers, which hand out 128-byte-aligned storage that
// lives exactly as long as the closure.

let bsonStorageSize = 128

@inline(__always)
package func withAlignedIter<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
    try withUnsafeTemporaryAllocation(byteCount: bsonStorageSize, alignment: 128) { buf in
        buf.initializeMemory(as: UInt8.self, repeating: 0)
        return try body(OpaquePointer(buf.baseAddress!))
    }
}

@inline(__always)
package func withAlignedBSON<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
    try withUnsafeTemporaryAllocation(byteCount: bsonStorageSize, alignment: 128) { buf in
        buf.initializeMemory(as: UInt8.self, repeating: 0)
        return try body(OpaquePointer(buf.baseAddress!))
    }
}

/// The text of a `bson_error_t`'s fixed-size message buffer.
package func messageText(of error: bson_error_t) -> String {
    var e = error
    return withUnsafeBytes(of: &e.message) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
