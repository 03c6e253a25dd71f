import Foundation
import StrataBSON

extension EvalContext {
    static let stringOps: [String: OpFn] = [
        "$concat": { c, a in
            var out = ""
            for e in a.positional {
                let v = try c.eval(e)
                if BSON.isNullish(v) { return .null }
                guard case .string(let s)? = v else { throw evalError("$concat only supports strings, not \(typeName(v))") }
                out += s
            }
            return .string(out)
        },
        "$toLower": { c, a in .string(asciiMap(try coerceToString(c.arg(a, 0), "$toLower"), upper: false)) },
        "$toUpper": { c, a in .string(asciiMap(try coerceToString(c.arg(a, 0), "$toUpper"), upper: true)) },
        "$strcasecmp": { c, a in
            let x = asciiMap(try coerceToString(c.arg(a, 0), "$strcasecmp"), upper: true)
            let y = asciiMap(try coerceToString(c.arg(a, 1), "$strcasecmp"), upper: true)
            return .int32(Int32(BSONOrder.compareStrings(x, y)))
        },
        "$substr": { c, a in try substrBytes(c, a) },
        "$substrBytes": { c, a in try substrBytes(c, a) },
        "$substrCP": { c, a in try substrCP(c, a) },
        "$strLenBytes": { c, a in
            let v = try c.arg(a, 0)
            guard case .string(let s)? = v else { throw evalError("$strLenBytes requires a string argument, found: \(typeName(v))") }
            return .int32(Int32(s.utf8.count))
        },
        "$strLenCP": { c, a in
            let v = try c.arg(a, 0)
            guard case .string(let s)? = v else { throw evalError("$strLenCP requires a string argument, found: \(typeName(v))") }
            return .int32(Int32(s.unicodeScalars.count))
        },
        "$split": { c, a in
            let s = try c.arg(a, 0), sep = try c.arg(a, 1)
            if BSON.isNullish(s) || BSON.isNullish(sep) { return .null }
            guard case .string(let str)? = s else {
                throw evalError("$split requires an expression that evaluates to a string as a first argument, found: \(typeName(s))")
            }
            guard case .string(let sp)? = sep else {
                throw evalError("$split requires an expression that evaluates to a string as a second argument, found: \(typeName(sep))")
            }
            if sp.isEmpty { throw evalError("$split requires a non-empty separator") }
            let bytes = Array(str.utf8), sb = Array(sp.utf8)
            var out: [BSON] = []
            var start = 0, i = 0
            while i < bytes.count {
                if i + sb.count <= bytes.count && bytes[i..<(i + sb.count)].elementsEqual(sb) {
                    out.append(.string(String(decoding: bytes[start..<i], as: UTF8.self)))
                    i += sb.count
                    start = i
                } else { i += 1 }
            }
            out.append(.string(String(decoding: bytes[start...], as: UTF8.self)))
            return .array(out)
        },
        "$trim": { c, a in try trim(c, a, "$trim", left: true, right: true) },
        "$ltrim": { c, a in try trim(c, a, "$ltrim", left: true, right: false) },
        "$rtrim": { c, a in try trim(c, a, "$rtrim", left: false, right: true) },
        "$indexOfBytes": { c, a in try indexOf(c, a, "$indexOfBytes", codePoints: false) },
        "$indexOfCP": { c, a in try indexOf(c, a, "$indexOfCP", codePoints: true) },
        "$regexMatch": { c, a in
            guard var st = try regexState(c, a, "$regexMatch") else { return .bool(false) }
            let regex = st.regex
            return .bool(try st.input.withUTF8 { try regex.firstMatch(in: $0, from: 0, op: "$regexMatch") != nil })
        },
        "$regexFind": { c, a in
            guard var st = try regexState(c, a, "$regexFind") else { return .null }
            let regex = st.regex
            return try st.input.withUTF8 { b in
                guard let m = try regex.firstMatch(in: b, from: 0, op: "$regexFind") else { return .null }
                return matchDocument(m, b, idx: codePoints(b, 0..<m.range.lowerBound))
            }
        },
        "$regexFindAll": { c, a in
            guard var st = try regexState(c, a, "$regexFindAll") else { return .array([]) }
            let regex = st.regex
            // mongod's loop (evaluate_regex.cpp): search from a byte offset; after an empty
            // match step one code point past it; stop once the offset reaches the end, so an
            // empty match at the very end is reported only for an empty input.
            return try st.input.withUTF8 { b in
                var out: [BSON] = []
                var pos = 0, cp = 0
                repeat {
                    guard let m = try regex.firstMatch(in: b, from: pos, op: "$regexFindAll") else { break }
                    cp += codePoints(b, pos..<m.range.lowerBound)
                    pos = m.range.lowerBound
                    out.append(matchDocument(m, b, idx: cp))
                    if m.range.isEmpty {
                        if pos >= b.count { continue }
                        pos += utf8Length(lead: b[pos])
                        cp += 1
                        continue
                    }
                    cp += codePoints(b, m.range)
                    pos = m.range.upperBound
                } while pos < b.count
                return .array(out)
            }
        },
        "$replaceOne": { c, a in try replace(c, a, "$replaceOne", all: false) },
        "$replaceAll": { c, a in try replace(c, a, "$replaceAll", all: true) },
    ]

    /// mongod's `Value::coerceToString` (used by $toLower, $toUpper, $substr*, $strcasecmp):
    /// null/missing/undefined → "", numbers printed (doubles with "%g"), dates in ISO format.
    static func coerceToString(_ v: BSON?, _ op: String) throws -> String {
        guard let v else { return "" }
        switch v {
        case .null, .undefined: return ""
        case .string(let s), .symbol(let s), .javascript(let s): return s
        case .int32(let i): return String(i)
        case .int64(let i): return String(i)
        case .double(let d): return formatG(d)
        case .decimal128(let d): return d.description
        case .date(let ms): return DateFormat.format(ms, format: DateFormat.isoFormat, zone: .utc)
        default: throw evalError("can't convert from BSON type \(v.typeName) to String")
        }
    }

    static func asciiMap(_ s: String, upper: Bool) -> String {
        var bytes = Array(s.utf8)
        for i in bytes.indices {
            let b = bytes[i]
            if upper, b >= 97, b <= 122 { bytes[i] = b - 32 } else if !upper, b >= 65, b <= 90 { bytes[i] = b + 32 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

    static func substrBytes(_ c: EvalContext, _ a: ExprArgs) throws -> BSON? {
        let op = "$substrBytes"
        let s = Array(try coerceToString(c.arg(a, 0), op).utf8)
        let lo = try c.arg(a, 1), len = try c.arg(a, 2)
        func isNum(_ v: BSON?) -> Bool {
            switch v { case .int32?, .int64?, .double?: return true; default: return false }
        }
        guard isNum(lo) else { throw evalError("\(op):  starting index must be a numeric type (is BSON type \(typeName(lo)))") }
        guard isNum(len) else { throw evalError("\(op):  length must be a numeric type (is BSON type \(typeName(len)))") }
        let start = Numeric.coerceToLong(lo!)!
        if start < 0 { throw evalError("\(op):  starting index must be non-negative (got: \(start))") }
        let l = Numeric.coerceToLong(len!)!
        let lower = Int(clamping: start)
        let length = l < 0 ? s.count : Int(clamping: l)
        if lower < s.count && isContinuation(s[lower]) {
            throw evalError("\(op):  Invalid range, starting index is a UTF-8 continuation byte.")
        }
        let end = lower.addingReportingOverflow(length)
        if !end.overflow && end.partialValue < s.count && isContinuation(s[end.partialValue]) {
            throw evalError("\(op):  Invalid range, ending index is in the middle of a UTF-8 character.")
        }
        if lower >= s.count { return .string("") }
        let hi = end.overflow ? s.count : min(s.count, end.partialValue)
        return .string(String(decoding: s[lower..<hi], as: UTF8.self))
    }

    static func substrCP(_ c: EvalContext, _ a: ExprArgs) throws -> BSON? {
        let op = "$substrCP"
        let s = try coerceToString(c.arg(a, 0), op)
        let lo = try c.arg(a, 1), len = try c.arg(a, 2)
        guard let lo, lo.isNumber else { throw evalError("\(op): starting index must be a numeric type (is BSON type \(typeName(lo)))") }
        guard Numeric.isIntegral32(lo) else { throw evalError("\(op): starting index cannot be represented as a 32-bit integral value: \(show(lo))") }
        guard let len, len.isNumber else { throw evalError("\(op): length must be a numeric type (is BSON type \(typeName(len)))") }
        guard Numeric.isIntegral32(len) else { throw evalError("\(op): length cannot be represented as a 32-bit integral value: \(show(len))") }
        let start = Int(Numeric.coerceToLong(lo)!), length = Int(Numeric.coerceToLong(len)!)
        if length < 0 { throw evalError("\(op): length must be a nonnegative integer.") }
        if start < 0 { throw evalError("\(op): the starting index must be nonnegative integer.") }
        let scalars = Array(s.unicodeScalars)
        if start >= scalars.count { return .string("") }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[start..<min(scalars.count, start + length)])
        return .string(String(out))
    }

    static let defaultTrimScalars: [Unicode.Scalar] = [
        "\u{0}", " ", "\t", "\n", "\u{0B}", "\u{0C}", "\r", "\u{A0}", "\u{1680}", "\u{2000}", "\u{2001}", "\u{2002}",
        "\u{2003}", "\u{2004}", "\u{2005}", "\u{2006}", "\u{2007}", "\u{2008}", "\u{2009}", "\u{200A}",
    ]

    static func trim(_ c: EvalContext, _ a: ExprArgs, _ op: String, left: Bool, right: Bool) throws -> BSON? {
        let input = try c.named(a, "input")
        if BSON.isNullish(input) { return .null }
        guard case .string(let s)? = input else {
            throw evalError("\(op) requires its input to be a string, got \(show(input)) (of type \(typeName(input))) instead.")
        }
        var set = defaultTrimScalars
        if a["chars"] != nil {
            let chars = try c.named(a, "chars")
            if BSON.isNullish(chars) { return .null }
            guard case .string(let cs)? = chars else {
                throw evalError("\(op) requires 'chars' to be a string, got \(show(chars)) (of type \(typeName(chars))) instead.")
            }
            set = Array(cs.unicodeScalars)
        }
        var scalars = Array(s.unicodeScalars)[...]
        if left { while let f = scalars.first, set.contains(f) { scalars = scalars.dropFirst() } }
        if right { while let l = scalars.last, set.contains(l) { scalars = scalars.dropLast() } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return .string(String(out))
    }

    static func indexOf(_ c: EvalContext, _ a: ExprArgs, _ op: String, codePoints: Bool) throws -> BSON? {
        let sv = try c.arg(a, 0)
        if BSON.isNullish(sv) { return .null }
        guard case .string(let s)? = sv else {
            throw evalError("\(op) requires a string as the first argument, found: \(typeName(sv))")
        }
        let tv = try c.arg(a, 1)
        guard case .string(let t)? = tv else {
            throw evalError("\(op) requires a string as the second argument, found: \(typeName(tv))")
        }
        func index(_ i: Int, _ what: String) throws -> Int {
            let v = try c.arg(a, i)
            guard let v, Numeric.isIntegral32(v) else {
                throw evalError("\(op) requires an integral \(what), found a value of type: \(typeName(v)), with value: \(show(v))")
            }
            let n = Int(Numeric.coerceToLong(v)!)
            if n < 0 { throw evalError("\(op) requires a nonnegative \(what), found: \(n)") }
            return n
        }
        let n = a.positional.count
        if codePoints {
            let hay = Array(s.unicodeScalars), needle = Array(t.unicodeScalars)
            let start = n > 2 ? try index(2, "starting index") : 0
            var end = hay.count
            if n > 3 { end = min(hay.count, try index(3, "ending index")) }
            if hay.isEmpty && needle.isEmpty && start == 0 { return .int32(0) }
            var i = start
            while i < end {
                if i + needle.count <= hay.count && hay[i..<(i + needle.count)].elementsEqual(needle) { return .int32(Int32(i)) }
                i += 1
            }
            return .int32(-1)
        } else {
            let hay = Array(s.utf8), needle = Array(t.utf8)
            let start = n > 2 ? try index(2, "starting index") : 0
            var end = hay.count
            if n > 3 { end = min(hay.count, try index(3, "ending index")) }
            if start > hay.count || end < start { return .int32(-1) }
            var i = start
            while i + needle.count <= end {
                if hay[i..<(i + needle.count)].elementsEqual(needle) { return .int32(Int32(i)) }
                i += 1
            }
            return .int32(-1)
        }
    }

    struct RegexState { var input: String; let regex: CompiledRegex }

    /// The input and compiled regex of $regexMatch/$regexFind/$regexFindAll, or nil when
    /// the input or the regex is nullish. In mongod's order: the types of 'regex' and
    /// 'options', embedded nulls, compiling the pattern (a bad pattern or flag is an error
    /// even when 'input' is null; with a nullish 'regex' the flags are not looked at), then
    /// the type of 'input'.
    static func regexState(_ c: EvalContext, _ a: ExprArgs, _ op: String) throws -> RegexState? {
        let input = try c.named(a, "input")
        let rx = try c.named(a, "regex")
        let opts = a["options"] != nil ? try c.named(a, "options") : nil
        var pattern: String?
        var options = ""
        switch rx {
        case .string(let p)?: pattern = p
        case .regex(let r)?: pattern = r.pattern
        default:
            if !BSON.isNullish(rx) { throw evalError("\(op) needs 'regex' to be of type string or regex") }
        }
        if !BSON.isNullish(opts) { guard case .string = opts! else { throw evalError("\(op) needs 'options' to be of type string") } }
        if case .regex(let r)? = rx, !r.options.isEmpty {
            if !BSON.isNullish(opts) { throw evalError("\(op): found regex option(s) specified in both 'regex' and 'option' fields") }
            options = r.options
        }
        if case .string(let o)? = opts { options = o }
        if pattern?.utf8.contains(0) == true { throw evalError("\(op): regular expression cannot contain an embedded null byte") }
        if options.utf8.contains(0) { throw evalError("\(op): regular expression options cannot contain an embedded null byte") }
        let regex = try pattern.map { try CompiledRegex.get($0, options, op: op) }
        if !BSON.isNullish(input) { guard case .string = input! else { throw evalError("\(op) needs 'input' to be of type string") } }
        guard case .string(let s)? = input, let regex else { return nil }
        return RegexState(input: s, regex: regex)
    }

    /// The number of code points in a range of UTF-8 bytes.
    static func codePoints(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        var n = 0
        for i in r where b[i] & 0xC0 != 0x80 { n += 1 }
        return n
    }

    /// The length of the UTF-8 sequence a lead byte starts (mongod's getCodePointLength).
    static func utf8Length(lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead & 0xE0 == 0xC0 { return 2 }
        if lead & 0xF0 == 0xE0 { return 3 }
        return 4
    }

    /// `{match, idx, captures}` as mongod builds it; unmatched groups are null.
    static func matchDocument(_ m: CompiledRegex.Match, _ b: UnsafeBufferPointer<UInt8>, idx: Int) -> BSON {
        func str(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
        let captures: [BSON] = m.groups.dropFirst().map { r in r.map { .string(str($0)) } ?? .null }
        return .document(["match": .string(str(m.range)), "idx": .int32(Int32(idx)), "captures": .array(captures)])
    }

    static func replace(_ c: EvalContext, _ a: ExprArgs, _ op: String, all: Bool) throws -> BSON? {
        let input = try c.named(a, "input"), find = try c.named(a, "find"), rep = try c.named(a, "replacement")
        for (name, v) in [("input", input), ("find", find), ("replacement", rep)] where !BSON.isNullish(v) {
            guard case .string = v! else { throw evalError("\(op) requires that '\(name)' be a string, found: \(typeName(v))") }
        }
        guard case .string(let s)? = input, case .string(let f)? = find, case .string(let r)? = rep else { return .null }
        let hay = Array(s.utf8), needle = Array(f.utf8), rb = Array(r.utf8)
        var out: [UInt8] = []
        var i = 0
        var replaced = false
        if needle.isEmpty {
            // mongod: an empty 'find' matches before every character and at the end ($replaceAll),
            // or once at the start ($replaceOne).
            if !all { return .string(r + s) }
            let scalars = Array(s.unicodeScalars)
            var res = String.UnicodeScalarView()
            for sc in scalars { res.append(contentsOf: r.unicodeScalars); res.append(sc) }
            res.append(contentsOf: r.unicodeScalars)
            return .string(String(res))
        }
        while i < hay.count {
            if (all || !replaced) && i + needle.count <= hay.count && hay[i..<(i + needle.count)].elementsEqual(needle) {
                out += rb
                i += needle.count
                replaced = true
            } else {
                out.append(hay[i]); i += 1
            }
        }
        return .string(String(decoding: out, as: UTF8.self))
    }
}
