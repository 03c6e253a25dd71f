/// A BSON document: an ordered list of key/value pairs.
///
/// Keys keep their insertion order. Lookups are linear, which is the right
/// trade for the small documents MongoDB stores; duplicate keys are kept as
/// given (BSON allows them) but `subscript(key)` sees the first.
public struct Document: Sendable, Hashable, RandomAccessCollection {
    public typealias Element = (key: String, value: BSON)
    public private(set) var fields: [(key: String, value: BSON)]

    public init() { fields = [] }
    public init(_ pairs: [(String, BSON)]) { fields = pairs.map { (key: $0.0, value: $0.1) } }
    public init(_ pairs: KeyValuePairs<String, BSON>) { fields = pairs.map { (key: $0.key, value: $0.value) } }

    public var startIndex: Int { 0 }
    public var endIndex: Int { fields.count }
    public subscript(position: Int) -> Element { fields[position] }

    public var keys: [String] { fields.map(\.key) }
    public var values: [BSON] { fields.map(\.value) }

    public func index(forKey key: String) -> Int? { fields.firstIndex { $0.key == key } }

    /// The value under `key`; `nil` when the key is absent. Setting `nil` removes
    /// the key; setting a value replaces it in place or appends it.
    public subscript(key: String) -> BSON? {
        get {
            for f in fields where f.key == key { return f.value }
            return nil
        }
        set {
            if let i = index(forKey: key) {
                if let v = newValue { fields[i].value = v } else { fields.remove(at: i) }
            } else if let v = newValue {
                fields.append((key: key, value: v))
            }
        }
    }

    public mutating func append(_ key: String, _ value: BSON) { fields.append((key: key, value: value)) }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> BSON? {
        guard let i = index(forKey: key) else { return nil }
        return fields.remove(at: i).value
    }

    /// Inserts `value` under `key` at `position`, or replaces the existing value in place.
    public mutating func insert(_ key: String, _ value: BSON, at position: Int) {
        if let i = index(forKey: key) { fields[i].value = value; return }
        fields.insert((key: key, value: value), at: Swift.min(Swift.max(position, 0), fields.count))
    }

    public static func == (a: Document, b: Document) -> Bool {
        guard a.fields.count == b.fields.count else { return false }
        for (x, y) in zip(a.fields, b.fields) where x.key != y.key || x.value != y.value { return false }
        return true
    }

    public func hash(into h: inout Hasher) {
        h.combine(fields.count)
        for f in fields { h.combine(f.key); h.combine(f.value) }
    }
}

extension Document: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, BSON)...) { self.init(elements) }
}

// MARK: - Dotted paths

extension Document {
    /// The value at a dotted path, descending through sub-documents only
    /// (no array traversal; the evaluator implements MongoDB's array rules).
    public func value(atPath path: String) -> BSON? { value(atPath: path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)) }

    public func value(atPath parts: [String]) -> BSON? {
        guard let first = parts.first else { return .document(self) }
        guard let v = self[first] else { return nil }
        if parts.count == 1 { return v }
        guard case .document(let sub) = v else { return nil }
        return sub.value(atPath: Array(parts.dropFirst()))
    }

    /// Sets the value at a dotted path, creating sub-documents as needed (a
    /// non-document in the way is replaced). `nil` removes the leaf.
    public mutating func setValue(_ value: BSON?, atPath path: String) {
        setValue(value, atPath: path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)[...])
    }

    public mutating func setValue(_ value: BSON?, atPath parts: ArraySlice<String>) {
        guard let first = parts.first else { return }
        if parts.count == 1 { self[first] = value; return }
        var sub: Document
        if case .document(let d)? = self[first] { sub = d } else {
            if value == nil { return }
            sub = Document()
        }
        sub.setValue(value, atPath: parts.dropFirst())
        self[first] = .document(sub)
    }
}
