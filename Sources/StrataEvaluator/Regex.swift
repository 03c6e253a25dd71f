import Foundation

/// Regular expressions on Foundation's `NSRegularExpression` (ICU), made to behave like
/// the server's PCRE where it cheaply can:
/// - options `i`, `m`, `s`, `x` map to ICU's; `u` is accepted and ignored; others are refused;
/// - `\w \W \d \D \s \S \b \B` are rewritten to their ASCII meaning (PCRE without UCP, as
///   mongod compiles patterns), also inside character classes.
/// Known differences left: ICU treats `\r`, U+0085, U+2028, U+2029 as line terminators for
/// `.`, `^`, `$` (PCRE only `\n`); PCRE-only syntax (`(?P<name>...)`, `\Z` nuances,
/// recursion, callouts, `\K`) is refused by ICU with an error; case-insensitive matching of
/// non-ASCII letters follows ICU's full Unicode case folding.
public final class CompiledRegex: @unchecked Sendable {
    public let pattern: String
    public let options: String
    let regex: NSRegularExpression

    init(pattern: String, options: String) throws {
        self.pattern = pattern
        self.options = options
        var o: NSRegularExpression.Options = []
        for ch in options {
            switch ch {
            case "i": o.insert(.caseInsensitive)
            case "m": o.insert(.anchorsMatchLines)
            case "s": o.insert(.dotMatchesLineSeparators)
            case "x": o.insert(.allowCommentsAndWhitespace)
            case "u": break
            default: throw evalError("invalid flag in regex options: \(ch)")
            }
        }
        do {
            regex = try NSRegularExpression(pattern: CompiledRegex.asciiClasses(pattern), options: o)
        } catch {
            throw evalError("Invalid regular expression /\(pattern)/\(options) (strata uses ICU regular expressions; PCRE-only syntax is not supported)")
        }
    }

    /// Whether the pattern matches somewhere in `s`.
    public func matches(_ s: String) -> Bool {
        let ns = s as NSString
        return regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }

    /// The first match at or after UTF-16 offset `from`, searching the whole subject
    /// (anchors and lookbehind see the text before `from`, like pcre_exec with a start offset).
    func firstMatch(in s: String, ns: NSString, from: Int) -> NSTextCheckingResult? {
        regex.firstMatch(in: s, options: [.withoutAnchoringBounds, .withTransparentBounds],
                         range: NSRange(location: from, length: ns.length - from))
    }

    var captureCount: Int { regex.numberOfCaptureGroups }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: CompiledRegex] = [:]

    /// A compiled regex, cached by pattern and options.
    public static func get(_ pattern: String, _ options: String) throws -> CompiledRegex {
        let key = options + "/" + pattern
        lock.lock()
        if let r = cache[key] { lock.unlock(); return r }
        lock.unlock()
        let r = try CompiledRegex(pattern: pattern, options: options)
        lock.lock()
        if cache.count > 2000 { cache.removeAll() }
        cache[key] = r
        lock.unlock()
        return r
    }

    /// Rewrites the Perl class escapes to their ASCII sets.
    static func asciiClasses(_ p: String) -> String {
        let word = "a-zA-Z0-9_", digit = "0-9", space = "\\t\\n\\x{0B}\\f\\r "
        var out = ""
        var inClass = false
        let it = Array(p.unicodeScalars)
        var i = 0
        func peek(_ k: Int) -> Unicode.Scalar? { i + k < it.count ? it[i + k] : nil }
        while i < it.count {
            let ch = it[i]
            if ch == "\\", let n = peek(1) {
                let rep: String?
                switch (n, inClass) {
                case ("w", false): rep = "[\(word)]"
                case ("W", false): rep = "[^\(word)]"
                case ("d", false): rep = "[\(digit)]"
                case ("D", false): rep = "[^\(digit)]"
                case ("s", false): rep = "[\(space)]"
                case ("S", false): rep = "[^\(space)]"
                case ("b", false): rep = "(?:(?<=[\(word)])(?![\(word)])|(?<![\(word)])(?=[\(word)]))"
                case ("B", false): rep = "(?:(?<=[\(word)])(?=[\(word)])|(?<![\(word)])(?![\(word)]))"
                case ("w", true): rep = word
                case ("d", true): rep = digit
                case ("s", true): rep = space
                case ("Q", _):
                    // \Q...\E quotes: copy verbatim
                    var j = i + 2
                    var lit = "\\Q"
                    while j < it.count {
                        if it[j] == "\\" && j + 1 < it.count && it[j + 1] == "E" { lit += "\\E"; j += 2; break }
                        lit.unicodeScalars.append(it[j]); j += 1
                    }
                    out += lit; i = j; continue
                default: rep = nil
                }
                if let rep { out += rep } else { out.unicodeScalars.append(ch); out.unicodeScalars.append(n) }
                i += 2
                continue
            }
            if !inClass && ch == "[" {
                inClass = true
                out.unicodeScalars.append(ch)
                i += 1
                // a leading ^ and a leading ] are literal parts of the class
                if peek(0) == "^" { out += "^"; i += 1 }
                if peek(0) == "]" { out += "\\]"; i += 1 }
                continue
            }
            if inClass && ch == "]" { inClass = false }
            out.unicodeScalars.append(ch)
            i += 1
        }
        return out
    }
}
