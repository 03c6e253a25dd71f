import ArgumentParser
import Foundation
import Strata
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// No URI was given and no embedded server is running.
struct NoServer: Error {
    let message: String
}

/// The server could not be reached; says which URI and where it came from.
struct ConnectionFailure: Error {
    let error: MongoError
    let uri: String
    let source: Connection.Source
}

/// The one place that turns an error into a message on stderr and an exit status.
///
/// | error                        | status | message                                   |
/// |------------------------------|--------|-------------------------------------------|
/// | `StrataError`                | `kind.exitCode` (bad input 2, ...) | `strata: <location>: <message>` |
/// | `ConnectionFailure`, `NoServer` | 1   | what failed, and how to point at a server |
/// | `MongoError` (invalid URI)   | 2      | `strata: <message>`                       |
/// | `MongoError` (write)         | 1      | `strata: <message>` (the importer names FILE:LINE) |
/// | `MongoError` (other)         | 1      | `strata: server error: <message>`         |
/// | argument errors (parsing, `validate()`) | 2 | ArgumentParser's message and usage |
/// | `--help`, `--version`        | 0      | on stdout                                 |
/// | anything else                | 1      | `strata: <description>`                   |
enum ErrorReporter {
    static func report(_ error: Error) -> Int32 {
        switch error {
        case let e as StrataError:
            printError("strata: \(e.description)")
            return e.kind.exitCode
        case let e as ConnectionFailure:
            printError("strata: \(e.error.message)\n"
                + "  uri: \(e.uri) (\(e.source))\n"
                + "  hint: \(connectionHint(e.error.message, uri: e.uri))")
            return 1
        case let e as NoServer:
            printError("strata: \(e.message)")
            return 1
        case let e as MongoError:
            if let refused = Lens.upgradeFailure(serverMessage: e.message) {
                // A lens guard refused a document in server stages: the same error the Swift upgrade gives.
                printError("strata: \(refused.description)")
                return refused.kind.exitCode
            }
            if e.kind == .invalidArgument {
                printError("strata: \(e.description)")
                return 2
            }
            if e.kind == .connection {
                printError("strata: \(e.description)\n  hint: is the server running? 'make server' starts the embedded one.")
                return 1
            }
            printError(e.kind == .write ? "strata: \(e.description)" : "strata: server error: \(e.description)")
            return 1
        case let e as ExtendedJSONError:
            printError("strata: not valid Extended JSON: \(e.message)")
            return 2
        default:
            return reportArgumentParserError(error)
        }
    }

    /// Help, version, parse and validation errors, and `ExitCode`s, as ArgumentParser
    /// words them; its "validation failure" status (64) becomes 2.
    static func reportArgumentParserError(_ error: Error) -> Int32 {
        let message = StrataCommand.fullMessage(for: error)
        let code = StrataCommand.exitCode(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            return 0
        }
        if code == .validationFailure {
            printError(message)
            return 2
        }
        if error is ExitCode {
            if !message.isEmpty { printError(message) }
            return code.rawValue
        }
        printError("strata: \(message.isEmpty ? String(describing: error) : message)")
        return 1
    }

    /// What to check, from what libmongoc said (the cause, never a secret).
    static func connectionHint(_ message: String, uri: String) -> String {
        let m = message.lowercased()
        let tls = uri.lowercased().contains("tls=true") || uri.lowercased().contains("ssl=true") || uri.hasPrefix("mongodb+srv://")
        if m.contains("certificate verify failed") || m.contains("self-signed certificate") || m.contains("unable to get local issuer") {
            return "the server's TLS certificate is not signed by an authority strata trusts: pass the CA that signed it with --tls-ca-file (or tlsCAFile in the URI)"
        }
        if m.contains("authentication failed") || m.contains("auth") && m.contains("fail") {
            return "the server refused the credentials: check the user name, the password and authSource (the database the user was created in, often 'admin')"
        }
        if tls && (m.contains("reset by peer") || m.contains("failed to read") || m.contains("handshake") || m.contains("tls")) {
            return "the TLS handshake did not complete: if the server requires a client certificate, pass it with --tls-certificate-key-file (certificate and key in one PEM file)"
        }
        if !tls && (m.contains("failed to read") || m.contains("reset by peer")) {
            return "the server closed the connection: if it requires TLS, pass --tls-ca-file (or tls=true in the URI)"
        }
        return "is the server running? Start the embedded one with 'make server', or pass --uri URI / set STRATA_URI."
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
