import StrataBSON

/// Where in an input something is: a file (when there is one) and a JSON path
/// inside it, e.g. `queries/q.json: pipeline[2].$group.total.$sum`.
public struct Location: Sendable, Hashable, CustomStringConvertible {
    package var file: String?
    package var path: String

    package init(file: String? = nil, path: String = "") {
        self.file = file
        self.path = path
    }

    package func appending(_ key: String) -> Location {
        Location(file: file, path: path.isEmpty ? key : path + "." + key)
    }

    package func appending(index: Int) -> Location {
        Location(file: file, path: path + "[\(index)]")
    }

    public var description: String {
        switch (file, path.isEmpty) {
        case (nil, true): return "(input)"
        case (nil, false): return path
        case (let f?, true): return f
        case (let f?, false): return f + ": " + path
        }
    }
}

/// The error type of strata above the driver. A struct over a private enum
/// with static members, so new kinds never break a `switch` in user code.
public struct StrataError: Error, Sendable, CustomStringConvertible {
    package struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case badInput, unsupported, unknownVersion, upgradeFailed, evaluation, conflict, interrupted
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// Malformed input: a file, a query, a lens, an argument (CLI exit 2).
        package static let badInput = Kind(.badInput)
        /// Well-formed, but strata cannot answer it exactly (CLI exit 3).
        package static let unsupported = Kind(.unsupported)
        /// Documents at a version the lens does not know (CLI exit 4).
        package static let unknownVersion = Kind(.unknownVersion)
        /// A document the lens cannot upgrade (CLI exit 5).
        package static let upgradeFailed = Kind(.upgradeFailed)
        /// An expression failed at run time, as the server would fail it (CLI exit 1).
        package static let evaluation = Kind(.evaluation)
        /// A concurrent change got in the way (a migrator's write lost a race).
        package static let conflict = Kind(.conflict)
        /// The server stopped answering, or lost the query's snapshot, mid-query: the answer
        /// is incomplete, and whatever was written of it is not the whole answer (CLI exit 7).
        package static let interrupted = Kind(.interrupted)
        package var description: String { base.rawValue }

        /// The CLI's exit status for this kind.
        package var exitCode: Int32 {
            switch base {
            case .badInput: return 2
            case .unsupported: return 3
            case .unknownVersion: return 4
            case .upgradeFailed: return 5
            case .evaluation, .conflict: return 1
            case .interrupted: return 7
            }
        }
    }

    package let kind: Kind
    package let message: String
    package let location: Location?

    package init(_ kind: Kind, _ message: String, at location: Location? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    package static func badInput(_ message: String, at location: Location? = nil) -> StrataError {
        StrataError(.badInput, message, at: location)
    }

    package static func unsupported(_ message: String, at location: Location? = nil) -> StrataError {
        StrataError(.unsupported, message, at: location)
    }

    public static func evaluation(_ message: String, at location: Location? = nil) -> StrataError {
        StrataError(.evaluation, message, at: location)
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
