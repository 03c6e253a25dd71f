import Foundation
import StrataBSON
import StrataLibBSON

/// Encodes `Encodable` values as BSON documents: integers as int32 when they fit, else
/// int64; `Double`/`Float` as double; `Date` as a BSON date (milliseconds); `Data` as
/// binary; `BSON` and `Document` values as they are; `nil` as omitted (`encodeIfPresent`)
/// or null (`encodeNil`). Keys the model declares but leaves out (a `nil` optional) are
/// recorded, so a typed save can remove them while keeping fields the model does not know.
public struct BSONEncoder: Sendable {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> Document {
        try encodeTracking(value).document
    }

    /// `value` encoded over `original`: fields the model encodes replace the original's
    /// (sub-documents merge field by field, arrays and scalars are replaced), fields the
    /// model declares but leaves `nil` are removed, and fields the model does not know
    /// stay — so a model that covers part of a document cannot erase the rest.
    public func encode<T: Encodable>(_ value: T, over original: Document) throws -> Document {
        let box = try BSONEncodingBox.encode(value, path: [])
        guard case .document(let d)? = box.merged(over: .document(original)) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "a \(T.self) does not encode to a document"))
        }
        return d
    }

    func encodeTracking<T: Encodable>(_ value: T) throws -> (document: Document, absent: Set<String>) {
        let box = try BSONEncodingBox.encode(value, path: [])
        guard case .document(let d) = box.value else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "a \(T.self) encodes to \(box.value?.typeName ?? "nothing"), not a document"))
        }
        return (d, box.absentKeys)
    }
}

/// Decodes `Decodable` values from BSON documents (numbers convert between types when
/// the value fits exactly; a BSON date decodes as `Date`).
public struct BSONDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from document: Document) throws -> T {
        try T(from: BSONDecodingImpl(value: .document(document), codingPath: []))
    }
}

// MARK: - encoding

final class BSONEncodingBox {
    /// `.document`/`.array` containers are built in `fields`/`items`, then folded into `value`.
    var value: BSON?
    var fields: [(String, BSONEncodingBox)] = []
    var items: [BSONEncodingBox] = []
    var kind: Kind = .none
    var absentKeys: Set<String> = []
    enum Kind { case none, keyed, unkeyed, single }

    static func encode<T: Encodable>(_ v: T, path: [CodingKey]) throws -> BSONEncodingBox {
        let box = BSONEncodingBox()
        if let direct = directValue(v) {
            box.value = direct
            box.kind = .single
            return box
        }
        try v.encode(to: BSONEncodingImpl(box: box, codingPath: path))
        box.finish()
        return box
    }

    static func directValue<T>(_ v: T) -> BSON? {
        switch v {
        case let b as BSON: return b
        case let d as Document: return .document(d)
        case let date as Date: return .date(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
        case let data as Data: return .binary(BSONBinary(subtype: 0, data: [UInt8](data)))
        case let o as ObjectId: return .objectId(o)
        default: return nil
        }
    }

    /// This value written over `original` (see `BSONEncoder.encode(_:over:)`).
    func merged(over original: BSON?) -> BSON? {
        guard kind == .keyed, case .document(var doc)? = original else { return value }
        for (k, b) in fields {
            if let v = b.merged(over: doc[k]) { doc[k] = v } else { doc[k] = nil }
        }
        for k in absentKeys { doc[k] = nil }
        return .document(doc)
    }

    func finish() {
        switch kind {
        case .keyed:
            value = .document(Document(fields.compactMap { k, b in b.finish(); return b.value.map { (k, $0) } }))
        case .unkeyed:
            value = .array(items.map { $0.finish(); return $0.value ?? .null })
        case .none, .single:
            break
        }
    }
}

struct BSONEncodingImpl: Encoder {
    let box: BSONEncodingBox
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        box.kind = .keyed
        return KeyedEncodingContainer(KeyedBSONEncoder<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        box.kind = .unkeyed
        return UnkeyedBSONEncoder(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        box.kind = .single
        return SingleBSONEncoder(box: box, codingPath: codingPath)
    }
}

func bsonInteger<T: BinaryInteger>(_ v: T, _ path: [CodingKey]) throws -> BSON {
    if let i = Int32(exactly: v) { return .int32(i) }
    if let i = Int64(exactly: v) { return .int64(i) }
    throw EncodingError.invalidValue(v, .init(codingPath: path, debugDescription: "\(v) does not fit in a BSON int64"))
}

struct KeyedBSONEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: BSONEncodingBox
    var codingPath: [CodingKey]

    func put(_ key: Key, _ value: BSON) {
        let b = BSONEncodingBox()
        b.kind = .single
        b.value = value
        set(key, b)
    }

    func set(_ key: Key, _ b: BSONEncodingBox) {
        box.absentKeys.remove(key.stringValue)
        if let i = box.fields.firstIndex(where: { $0.0 == key.stringValue }) { box.fields[i].1 = b } else { box.fields.append((key.stringValue, b)) }
    }

    mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(key, .double(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(key, .double(Double(value))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(key, try bsonInteger(value, codingPath + [key])) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(key, .int32(Int32(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(key, .int32(Int32(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(key, .int32(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(key, .int64(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(key, try bsonInteger(value, codingPath + [key])) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(key, .int32(Int32(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(key, .int32(Int32(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(key, try bsonInteger(value, codingPath + [key])) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(key, try bsonInteger(value, codingPath + [key])) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(key, try BSONEncodingBox.encode(value, path: codingPath + [key]))
    }

    // A nil optional: left out, but remembered as declared.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else {
            if !box.fields.contains(where: { $0.0 == key.stringValue }) { box.absentKeys.insert(key.stringValue) }
            return
        }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeIfPresent(value.map(BoolBox.init), forKey: key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeIfPresent(value.map(StringBox.init), forKey: key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeIfPresent(value.map(DoubleBox.init), forKey: key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeIfPresent(value.map(IntBox.init), forKey: key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeIfPresent(value.map { IntBox(Int($0)) }, forKey: key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        guard let value else { try encodeIfPresent(IntBox?.none, forKey: key); return }
        put(key, .int64(value))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let b = BSONEncodingBox()
        b.kind = .keyed
        set(key, b)
        return KeyedEncodingContainer(KeyedBSONEncoder<NestedKey>(box: b, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let b = BSONEncodingBox()
        b.kind = .unkeyed
        set(key, b)
        return UnkeyedBSONEncoder(box: b, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        let b = BSONEncodingBox()
        set(key, b)
        return DeferredEncoder(box: b, codingPath: codingPath + [key])
    }
}

// Small wrappers so the typed encodeIfPresent overloads share the generic path.
struct BoolBox: Encodable { let v: Bool; init(_ v: Bool) { self.v = v }; func encode(to e: Encoder) throws { var c = e.singleValueContainer(); try c.encode(v) } }
struct StringBox: Encodable { let v: String; init(_ v: String) { self.v = v }; func encode(to e: Encoder) throws { var c = e.singleValueContainer(); try c.encode(v) } }
struct DoubleBox: Encodable { let v: Double; init(_ v: Double) { self.v = v }; func encode(to e: Encoder) throws { var c = e.singleValueContainer(); try c.encode(v) } }
struct IntBox: Encodable { let v: Int; init(_ v: Int) { self.v = v }; func encode(to e: Encoder) throws { var c = e.singleValueContainer(); try c.encode(v) } }

/// An encoder whose box is folded when its container is made and filled (super encoders).
struct DeferredEncoder: Encoder {
    let box: BSONEncodingBox
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        BSONEncodingImpl(box: box, codingPath: codingPath).container(keyedBy: type)
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer { BSONEncodingImpl(box: box, codingPath: codingPath).unkeyedContainer() }
    func singleValueContainer() -> SingleValueEncodingContainer { BSONEncodingImpl(box: box, codingPath: codingPath).singleValueContainer() }
}

struct UnkeyedBSONEncoder: UnkeyedEncodingContainer {
    let box: BSONEncodingBox
    var codingPath: [CodingKey]
    var count: Int { box.items.count }

    struct Index: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ i: Int) { stringValue = String(i); intValue = i }
        init?(stringValue: String) { self.stringValue = stringValue; intValue = Int(stringValue) }
        init?(intValue: Int) { self.init(intValue) }
    }

    func put(_ v: BSON) {
        let b = BSONEncodingBox()
        b.kind = .single
        b.value = v
        box.items.append(b)
    }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(.double(value)) }
    mutating func encode(_ value: Float) throws { put(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { put(try bsonInteger(value, codingPath + [Index(count)])) }
    mutating func encode(_ value: Int32) throws { put(.int32(value)) }
    mutating func encode(_ value: Int64) throws { put(.int64(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try BSONEncodingBox.encode(value, path: codingPath + [Index(count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let b = BSONEncodingBox()
        b.kind = .keyed
        box.items.append(b)
        return KeyedEncodingContainer(KeyedBSONEncoder<NestedKey>(box: b, codingPath: codingPath + [Index(count - 1)]))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let b = BSONEncodingBox()
        b.kind = .unkeyed
        box.items.append(b)
        return UnkeyedBSONEncoder(box: b, codingPath: codingPath + [Index(count - 1)])
    }

    mutating func superEncoder() -> Encoder {
        let b = BSONEncodingBox()
        box.items.append(b)
        return DeferredEncoder(box: b, codingPath: codingPath + [Index(count - 1)])
    }
}

struct SingleBSONEncoder: SingleValueEncodingContainer {
    let box: BSONEncodingBox
    var codingPath: [CodingKey]

    mutating func encodeNil() throws { box.value = .null }
    mutating func encode(_ value: Bool) throws { box.value = .bool(value) }
    mutating func encode(_ value: String) throws { box.value = .string(value) }
    mutating func encode(_ value: Double) throws { box.value = .double(value) }
    mutating func encode(_ value: Float) throws { box.value = .double(Double(value)) }
    mutating func encode(_ value: Int) throws { box.value = try bsonInteger(value, codingPath) }
    mutating func encode(_ value: Int8) throws { box.value = .int32(Int32(value)) }
    mutating func encode(_ value: Int16) throws { box.value = .int32(Int32(value)) }
    mutating func encode(_ value: Int32) throws { box.value = .int32(value) }
    mutating func encode(_ value: Int64) throws { box.value = .int64(value) }
    mutating func encode(_ value: UInt) throws { box.value = try bsonInteger(value, codingPath) }
    mutating func encode(_ value: UInt8) throws { box.value = .int32(Int32(value)) }
    mutating func encode(_ value: UInt16) throws { box.value = .int32(Int32(value)) }
    mutating func encode(_ value: UInt32) throws { box.value = try bsonInteger(value, codingPath) }
    mutating func encode(_ value: UInt64) throws { box.value = try bsonInteger(value, codingPath) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let b = try BSONEncodingBox.encode(value, path: codingPath)
        box.value = b.value
    }
}

// MARK: - decoding

struct BSONDecodingImpl: Decoder {
    let value: BSON
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ type: Any.Type, _ v: BSON?) -> DecodingError {
        DecodingError.typeMismatch(type, .init(codingPath: codingPath,
            debugDescription: "expected \(type), found \(v.map { "\($0.typeName) \(ExtendedJSON.string($0))" } ?? "nothing")"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .document(let d) = value else { throw mismatch(Document.self, value) }
        return KeyedDecodingContainer(KeyedBSONDecoder<Key>(doc: d, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch([BSON].self, value) }
        return UnkeyedBSONDecoder(items: a, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleBSONDecoder(value: value, codingPath: codingPath) }
}

/// Decodes one BSON value as `T` (the scalar conversions live here).
func decodeValue<T: Decodable>(_ type: T.Type, _ v: BSON, _ path: [CodingKey]) throws -> T {
    let d = BSONDecodingImpl(value: v, codingPath: path)
    switch type {
    case is BSON.Type: return v as! T
    case is Document.Type:
        guard case .document(let doc) = v else { throw d.mismatch(type, v) }
        return doc as! T
    case is Date.Type:
        switch v {
        case .date(let ms): return Date(timeIntervalSince1970: Double(ms) / 1000) as! T
        default: throw d.mismatch(type, v)
        }
    case is Data.Type:
        guard case .binary(let b) = v else { throw d.mismatch(type, v) }
        return Data(b.data) as! T
    case is ObjectId.Type:
        guard case .objectId(let o) = v else { throw d.mismatch(type, v) }
        return o as! T
    default:
        return try T(from: d)
    }
}

func decodeInteger<T: BinaryInteger & FixedWidthInteger>(_ type: T.Type, _ v: BSON?, _ d: BSONDecodingImpl) throws -> T {
    guard let v, let i = v.exactInt, let out = T(exactly: i) else { throw d.mismatch(type, v) }
    return out
}

struct KeyedBSONDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let doc: Document
    var codingPath: [CodingKey]
    var allKeys: [Key] { doc.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { doc[key.stringValue] != nil }

    func value(_ key: Key) throws -> BSON {
        guard let v = doc[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no field '\(key.stringValue)'"))
        }
        return v
    }

    func sub(_ key: Key) -> BSONDecodingImpl { BSONDecodingImpl(value: doc[key.stringValue] ?? .null, codingPath: codingPath + [key]) }

    func decodeNil(forKey key: Key) throws -> Bool { doc[key.stringValue] == nil || doc[key.stringValue] == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        guard case .bool(let b) = try value(key) else { throw sub(key).mismatch(type, doc[key.stringValue]) }
        return b
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        guard case .string(let s) = try value(key) else { throw sub(key).mismatch(type, doc[key.stringValue]) }
        return s
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        guard let d = try value(key).doubleValue else { throw sub(key).mismatch(type, doc[key.stringValue]) }
        return d
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decode(Double.self, forKey: key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeInteger(type, try value(key), sub(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeInteger(type, try value(key), sub(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decodeValue(type, try value(key), codingPath + [key]) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try BSONDecodingImpl(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try BSONDecodingImpl(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder { BSONDecodingImpl(value: doc["super"] ?? .null, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { sub(key) }
}

struct UnkeyedBSONDecoder: UnkeyedDecodingContainer {
    let items: [BSON]
    var codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [BSON], codingPath: [CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    mutating func next() throws -> (BSON, [CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(BSON.self, .init(codingPath: codingPath, debugDescription: "the array has only \(items.count) elements"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [UnkeyedBSONEncoder.Index(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd && items[currentIndex] == .null { currentIndex += 1; return true }
        return false
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, path) = try next()
        return try decodeValue(type, v, path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, path) = try next()
        return try BSONDecodingImpl(value: v, codingPath: path).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (v, path) = try next()
        return try BSONDecodingImpl(value: v, codingPath: path).unkeyedContainer()
    }
    mutating func superDecoder() throws -> Decoder {
        let (v, path) = try next()
        return BSONDecodingImpl(value: v, codingPath: path)
    }
}

struct SingleBSONDecoder: SingleValueDecodingContainer {
    let value: BSON
    var codingPath: [CodingKey]
    var d: BSONDecodingImpl { BSONDecodingImpl(value: value, codingPath: codingPath) }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { guard case .bool(let b) = value else { throw d.mismatch(type, value) }; return b }
    func decode(_ type: String.Type) throws -> String { guard case .string(let s) = value else { throw d.mismatch(type, value) }; return s }
    func decode(_ type: Double.Type) throws -> Double { guard let x = value.doubleValue else { throw d.mismatch(type, value) }; return x }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type, value, d) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type, value, d) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type, value, d) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type, value, d) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type, value, d) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type, value, d) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type, value, d) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type, value, d) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type, value, d) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type, value, d) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type, value, codingPath) }
}
