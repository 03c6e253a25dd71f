import StrataBSON
import StrataEvaluator

/// Reads a lens document, checking every part and naming the place of each
/// problem (file and JSON path).
struct LensParser {
    let file: String?

    static let topLevelKeys: Set<String> = ["collection", "versionField", "absentMeans", "steps", "indexes", "description", "$schema"]

    func lens(from doc: Document) throws -> Lens {
        let root = Location(file: file)
        let reader = ArgumentReader(doc, at: root, what: "the lens file")
        try reader.allowOnly(Self.topLevelKeys)
        let collection = try reader.requiredString("collection")
        let versionField = try reader.requiredString("versionField")
        guard !versionField.isEmpty, !versionField.hasPrefix("$") else {
            throw StrataError.badInput("versionField must be a field name", at: root.appending("versionField"))
        }
        let absentMeans = try reader.optionalInt("absentMeans") ?? 0
        let stepValues = try reader.requiredArray("steps")
        var steps: [LensStep] = []
        var expectedFrom = absentMeans
        for (i, value) in stepValues.enumerated() {
            let loc = root.appending("steps").appending(index: i)
            guard case .document(let stepDoc) = value else {
                throw StrataError.badInput("a step must be an object {\"from\": N, \"to\": N+1, \"operations\": [...]}", at: loc)
            }
            let step = try self.step(stepDoc, at: loc)
            if i == 0 {
                expectedFrom = step.from
                if step.from > absentMeans {
                    throw StrataError.badInput(
                        "the first step starts at version \(step.from), but a document without '\(versionField)' is version \(absentMeans): the versions from \(absentMeans) to \(step.from) have no step",
                        at: loc.appending("from"))
                }
            }
            if step.from != expectedFrom {
                let problem = step.from < expectedFrom ? "duplicates or goes back over" : "leaves a gap after"
                throw StrataError.badInput(
                    "step from \(step.from) to \(step.to) \(problem) version \(expectedFrom - 1 < 0 ? expectedFrom : expectedFrom): steps must go from each version to the next, in order (expected from \(expectedFrom))",
                    at: loc.appending("from"))
            }
            expectedFrom = step.to
            steps.append(step)
        }
        if !steps.isEmpty && (absentMeans < steps[0].from || absentMeans > steps.last!.to) {
            throw StrataError.badInput("absentMeans \(absentMeans) is not one of the versions \(steps[0].from)...\(steps.last!.to)",
                                       at: root.appending("absentMeans"))
        }
        let indexes = try (reader.optionalArray("indexes") ?? []).enumerated().map { i, v in
            try index(v, at: root.appending("indexes").appending(index: i))
        }
        var lens = Lens(collection: collection, versionField: versionField, absentMeans: absentMeans, steps: steps,
                        indexes: indexes, source: file)
        lens.warnings = try lens.lint()
        return lens
    }

    func step(_ doc: Document, at loc: Location) throws -> LensStep {
        let reader = ArgumentReader(doc, at: loc, what: "a step")
        try reader.allowOnly(["from", "to", "operations", "description", "writeBack", "down"])
        let from = try reader.requiredInt("from")
        if let to = try reader.optionalInt("to"), to != from + 1 {
            throw StrataError.badInput("a step goes from one version to the next: from \(from) must have to \(from + 1), not \(to)",
                                       at: loc.appending("to"))
        }
        let opValues = try reader.requiredArray("operations")
        var operations: [any LensOperation] = []
        for (i, v) in opValues.enumerated() {
            operations.append(try LensOperations.parse(v, at: loc.appending("operations").appending(index: i)))
        }
        let writeBack = try reader.optionalString("writeBack").map { text -> WriteBackPolicy in
            guard let p = WriteBackPolicy(rawValue: text) else {
                throw StrataError.badInput("writeBack must be one of never, whenExpensive, always; got '\(text)'",
                                           at: loc.appending("writeBack"))
            }
            return p
        }
        let down = try reader.optionalString("down")
        if let down, down.isEmpty { throw StrataError.badInput("down names a down function; it must not be empty", at: loc.appending("down")) }
        return LensStep(from: from, operations: operations, writeBack: writeBack ?? .whenExpensive, down: down, location: loc)
    }

    func index(_ value: BSON, at loc: Location) throws -> IndexDeclaration {
        guard case .document(let doc) = value else {
            throw StrataError.badInput("an index must be an object {\"key\": {...}}", at: loc)
        }
        let reader = ArgumentReader(doc, at: loc, what: "an index")
        try reader.allowOnly(["key", "name", "unique"])
        let keys = try reader.requiredDocument("key")
        if keys.isEmpty { throw StrataError.badInput("an index needs at least one key", at: loc.appending("key")) }
        for (k, v) in keys {
            guard v == .int32(1) || v == .int32(-1) || v == .int64(1) || v == .int64(-1) || v == .double(1) || v == .double(-1) else {
                throw StrataError.badInput("index key '\(k)' must be 1 or -1", at: loc.appending("key").appending(k))
            }
        }
        return IndexDeclaration(keys: keys, name: try reader.optionalString("name"), unique: try reader.optionalBool("unique") ?? false)
    }
}

/// When the runtime writes an upgraded document back (issue: lazy-migration runtime).
public enum WriteBackPolicy: String, Sendable {
    case never, whenExpensive, always
}

/// Typed access to the arguments of an object in a lens file, with errors
/// that say which key is wrong and why.
struct ArgumentReader {
    let doc: Document
    let location: Location
    let what: String

    init(_ doc: Document, at location: Location, what: String) {
        self.doc = doc
        self.location = location
        self.what = what
    }

    func allowOnly(_ keys: Set<String>) throws {
        for k in doc.keys where !keys.contains(k) {
            throw StrataError.badInput("unknown key '\(k)' in \(what) (allowed: \(keys.filter { !$0.hasPrefix("$") }.sorted().joined(separator: ", ")))",
                                       at: location.appending(k))
        }
    }

    func missing(_ key: String, _ type: String) -> StrataError {
        StrataError.badInput("\(what) needs '\(key)' (\(type))", at: location)
    }

    func wrongType(_ key: String, _ type: String, _ got: BSON) -> StrataError {
        StrataError.badInput("'\(key)' must be \(type), not \(got.typeName)", at: location.appending(key))
    }

    func requiredString(_ key: String) throws -> String {
        guard let v = try optionalString(key) else { throw missing(key, "a string") }
        return v
    }

    func optionalString(_ key: String) throws -> String? {
        guard let v = doc[key] else { return nil }
        guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
        return s
    }

    func requiredPath(_ key: String) throws -> String {
        let s = try requiredString(key)
        try checkPath(s, key: key)
        return s
    }

    func optionalPath(_ key: String) throws -> String? {
        guard let s = try optionalString(key) else { return nil }
        try checkPath(s, key: key)
        return s
    }

    func checkPath(_ s: String, key: String) throws {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        if s.isEmpty || parts.contains(where: { $0.isEmpty || $0.hasPrefix("$") }) {
            throw StrataError.badInput("'\(s)' is not a field path (dot-separated names, none empty or starting with $)",
                                       at: location.appending(key))
        }
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let v = try optionalInt(key) else { throw missing(key, "an integer") }
        return v
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let v = doc[key] else { return nil }
        switch v {
        case .int32(let i): return Int(i)
        case .int64(let i): return Int(i)
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: throw wrongType(key, "an integer", v)
        }
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let v = doc[key] else { return nil }
        guard case .bool(let b) = v else { throw wrongType(key, "true or false", v) }
        return b
    }

    func requiredArray(_ key: String) throws -> [BSON] {
        guard let v = try optionalArray(key) else { throw missing(key, "an array") }
        return v
    }

    func optionalArray(_ key: String) throws -> [BSON]? {
        guard let v = doc[key] else { return nil }
        guard case .array(let a) = v else { throw wrongType(key, "an array", v) }
        return a
    }

    func requiredDocument(_ key: String) throws -> Document {
        guard let v = try optionalDocument(key) else { throw missing(key, "an object") }
        return v
    }

    func optionalDocument(_ key: String) throws -> Document? {
        guard let v = doc[key] else { return nil }
        guard case .document(let d) = v else { throw wrongType(key, "an object", v) }
        return d
    }

    func value(_ key: String) -> BSON? { doc[key] }
}
