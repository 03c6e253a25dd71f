import Synchronization
import Foundation
internal import CPCRE2

/// Regular expressions on PCRE2 (8-bit, UTF-8 subjects), the library mongod uses since 6.1,
/// compiled as mongod's `pcre_util::flagsToOptions` compiles them: always `PCRE2_UTF`, and
/// `i` → CASELESS, `m` → MULTILINE, `s` → DOTALL, `x` → EXTENDED, `u` accepted and ignored;
/// any other flag is an error. Not `PCRE2_UCP`: `\w \d \s \b` and POSIX classes are ASCII,
/// while case-insensitive matching folds non-ASCII letters too (UTF mode). Matching runs on
/// the UTF-8 bytes of the subject with byte offsets, as `pcre2_match` does in mongod.
///
/// `@unchecked Sendable`: a thin wrapper of a compiled PCRE2 pattern, which PCRE2 documents
/// as thread-safe to match with from many threads at once as long as each match has match
/// data of its own — `firstMatch` makes a fresh one per call. Nothing here is mutable.
package final class CompiledRegex: @unchecked Sendable {
    package let pattern: String
    package let options: String
    /// The compiled pattern (`pcre2_code_8*`); read-only after compilation, so shared across
    /// threads, each match with its own match data.
    private let code: OpaquePointer
    /// The number of capture groups.
    let captureCount: Int

    /// Why a pattern did not compile: a flag mongod refuses, or PCRE2's message.
    enum Failure: Error { case flag(Character), pcre(String) }

    private init(pattern: String, options: String, code: OpaquePointer) {
        self.pattern = pattern
        self.options = options
        self.code = code
        self.captureCount = Int(strata_pcre2_capture_count(code))
    }

    deinit { strata_pcre2_code_free(code) }

    static func compile(_ pattern: String, _ options: String) -> Result<CompiledRegex, Failure> {
        var o = strata_pcre2_utf
        for ch in options {
            switch ch {
            case "i": o |= strata_pcre2_caseless
            case "m": o |= strata_pcre2_multiline
            case "s": o |= strata_pcre2_dotall
            case "x": o |= strata_pcre2_extended
            case "u": break
            default: return .failure(.flag(ch))
            }
        }
        var err: Int32 = 0
        var offset = 0
        let bytes = Array(pattern.utf8)
        let code: OpaquePointer? = bytes.withUnsafeBufferPointer { b in
            // a zero-length pattern still needs a non-null pointer
            withUnsafePointer(to: UInt8(0)) { empty in
                strata_pcre2_compile(b.count == 0 ? empty : b.baseAddress!, b.count, o, &err, &offset)
            }
        }
        guard let code else { return .failure(.pcre(errorMessage(err))) }
        return .success(CompiledRegex(pattern: pattern, options: options, code: code))
    }

    /// PCRE2's text for an error code, as mongod's `errorMessage` prints it.
    static func errorMessage(_ code: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = buf.withUnsafeMutableBufferPointer { strata_pcre2_error_message(code, $0.baseAddress!, $0.count) }
        return n < 0 ? "PCRE2 error \(code)" : String(decoding: buf[0..<Int(n)], as: UTF8.self)
    }

    /// A match: the byte ranges of the whole match (index 0) and of each capture group
    /// (nil when the group did not participate).
    struct Match {
        let groups: [Range<Int>?]
        var range: Range<Int> { groups[0]! }
    }

    /// The first match starting at or after byte offset `from` of `subject`, the whole
    /// subject visible to anchors and lookbehind (pcre2_match with a start offset).
    /// Errors other than no-match (match or depth limits) throw as mongod's 51156.
    func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from: Int, op: String) throws -> Match? {
        guard let md = strata_pcre2_match_data(code) else { throw evalError("\(op): out of memory for a regex match") }
        defer { strata_pcre2_match_data_free(md) }
        let rc = withUnsafePointer(to: UInt8(0)) { empty in
            strata_pcre2_match(code, subject.count == 0 ? empty : subject.baseAddress!, subject.count, from, md)
        }
        if rc == strata_pcre2_nomatch { return nil }
        if rc < 0 {
            throw evalError("Error occurred while executing the regular expression in \(op). Result code: \(CompiledRegex.errorMessage(rc))")
        }
        let ov = strata_pcre2_ovector(md)!
        var groups: [Range<Int>?] = []
        groups.reserveCapacity(captureCount + 1)
        for g in 0...captureCount {
            let b = ov[2 * g], e = ov[2 * g + 1]
            // PCRE2_UNSET is ~(size_t)0, which Swift's Int reads as -1
            groups.append(b < 0 || e < b ? nil : b..<e)
        }
        return Match(groups: groups)
    }

    /// Whether the pattern matches somewhere in `s` (the `$regex` query operator).
    package func matches(_ s: String) throws -> Bool {
        var s = s
        return try s.withUTF8 { try firstMatch(in: $0, from: 0, op: "$regex") != nil }
    }

    private static let cache = Mutex<[String: CompiledRegex]>([:])

    /// A compiled regex, cached by pattern and options. `op` names the expression operator
    /// (`$regexMatch`…) for its error messages; nil means the `$regex` query operator.
    /// Errors read as mongod's: 51091 "Regular expression is invalid: …" for queries,
    /// 51111 "Invalid Regex in $regexFind: …" for expressions, 51108 for a bad flag.
    package static func get(_ pattern: String, _ options: String, op: String? = nil) throws -> CompiledRegex {
        let key = options + "/" + pattern
        if let r = cache.withLock({ $0[key] }) { return r }
        if op == nil, pattern.utf8.contains(0) { throw evalError("Regular expression cannot contain an embedded null byte") }
        switch compile(pattern, options) {
        case .success(let r):
            cache.withLock { cache in
                if cache.count > 2000 { cache.removeAll() }
                cache[key] = r
            }
            return r
        case .failure(.flag(let c)):
            throw evalError(op.map { "\($0) invalid flag in regex options: \(c)" } ?? "invalid flag in regex options: \(c)")
        case .failure(.pcre(let m)):
            throw evalError(op.map { "Invalid Regex in \($0): \(m)" } ?? "Regular expression is invalid: \(m)")
        }
    }
}
