import StrataBSON
import StrataEvaluator

/// `{"op": "custom", "function": "crc32Hex", "reads": ["name.first", "name.last", "password"], "writes": ["password"]}`
/// — an application-defined operation only Swift can perform (a password
/// hash, say). The function is bound by name at run time (`LensFunctions`);
/// `reads`/`writes` declare what it touches, so the planner knows which
/// paths need Swift and which it can still translate. Not invertible.
package struct CustomOperation: LensOperation {
    package let function: String
    package let readPaths: [[String]]
    package let writes: [[String]]
    package let location: Location
    package var name: String { "custom" }
    package var isExpensive: Bool { true }

    static func parse(_ r: ArgumentReader) throws -> any LensOperation {
        try r.allowOnly(["op", "function", "reads", "writes", "description"])
        let function = try r.requiredString("function")
        func paths(_ key: String) throws -> [[String]] {
            try r.requiredArray(key).enumerated().map { i, v in
                guard case .string(let s) = v else {
                    throw StrataError.badInput("'\(key)' lists field paths (strings)", at: r.location.appending(key).appending(index: i))
                }
                try r.checkPath(s, key: key)
                return DocumentPaths.split(s)
            }
        }
        let writes = try paths("writes")
        if writes.isEmpty { throw StrataError.badInput("a custom operation writes at least one field", at: r.location.appending("writes")) }
        if writes.contains(where: { $0.first == "_id" }) {
            throw StrataError.badInput("a custom operation cannot write _id", at: r.location.appending("writes"))
        }
        return CustomOperation(function: function, readPaths: try paths("reads"), writes: writes, location: r.location)
    }

    package func upgrade(_ doc: inout Document, context: LensContext) throws {
        guard let f = context.functions[function] else {
            throw failure("function '\(function)' is not bound (register it with LensFunctions.register)")
        }
        do { try f(&doc, readPaths, writes) } catch let e as StrataError {
            throw StrataError(.upgradeFailed, "custom '\(function)': \(e.message)", at: location)
        }
    }

    package var serverStages: [BSON]? { nil }

    package func source(of path: [String]) -> PathSource {
        for w in writes where DocumentPaths.isWithin(path, w) || DocumentPaths.isWithin(w, path) {
            return .swiftOnly("'\(DocumentPaths.join(path))' is computed by the Swift function '\(function)' (\(location))")
        }
        return .path(path)
    }

    package var invertibility: Invertibility { .impossible("'\(function)' is an application-defined function with no inverse") }

    /// Undone only by a down function registered under the same name
    /// (`LensFunctions.registerDown`); without one it throws.
    package func downgrade(_ doc: inout Document, context: LensContext) throws {
        guard let down = context.functions.down(function) else {
            throw failure("cannot undo the application-defined function '\(function)': register a down function named '\(function)' (LensFunctions.registerDown)")
        }
        do { try down(&doc, readPaths, writes) } catch let e as StrataError {
            throw StrataError(.upgradeFailed, "down function '\(function)': \(e.message)", at: location)
        }
    }

    package var reads: [[String]] { readPaths }
}
