import Foundation
import Synchronization

/// A time zone of the date operators: UTC, a fixed offset (`"+05:30"`, `"-0800"`, `"+03"`),
/// or an Olson name resolved with Foundation's `TimeZone` (the system tzdata; mongod uses
/// its built-in timelib copy, so rules can differ for recently changed zones). Local times
/// that do not exist or exist twice around DST transitions are resolved as timelib does
/// (`utc(fromLocal:)`).
package enum DateZone: Sendable, Equatable {
    case utc
    case fixed(seconds: Int)
    case named(String)

    private static let zones = Mutex<[String: TimeZone]>([:])

    static func timeZone(_ id: String) -> TimeZone? {
        zones.withLock { zones in
            if let z = zones[id] { return z }
            guard let z = TimeZone(identifier: id) else { return nil }
            zones[id] = z
            return z
        }
    }

    /// mongod's `getTimeZone`: an identifier of the tz database, or a UTC offset.
    package static func parse(_ id: String) throws -> DateZone {
        if id == "UTC" { return .utc }
        if let off = parseOffset(id) { return .fixed(seconds: off) }
        let valid = !id.isEmpty && id.utf8.allSatisfy { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 47 || c == 95 || c == 45 || c == 43
        }
        if valid, !id.hasPrefix("GMT+"), !id.hasPrefix("GMT-"), timeZone(id) != nil,
           FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/" + id) || timeZone(id)!.identifier == id {
            return .named(id)
        }
        throw evalError("unrecognized time zone identifier: \"\(id)\"")
    }

    /// ±HH, ±HHMM, ±HH:MM.
    static func parseOffset(_ s: String) -> Int? {
        let b = Array(s.utf8)
        guard let f = b.first, f == 43 || f == 45 else { return nil }
        let sign = f == 43 ? 1 : -1
        func digit(_ i: Int) -> Int? { i < b.count && b[i] >= 48 && b[i] <= 57 ? Int(b[i] - 48) : nil }
        switch b.count {
        case 3:
            guard let h1 = digit(1), let h2 = digit(2) else { return nil }
            return sign * (h1 * 10 + h2) * 3600
        case 5:
            guard let h1 = digit(1), let h2 = digit(2), let m1 = digit(3), let m2 = digit(4) else { return nil }
            return sign * ((h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60)
        case 6:
            guard let h1 = digit(1), let h2 = digit(2), b[3] == 58, let m1 = digit(4), let m2 = digit(5) else { return nil }
            return sign * ((h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60)
        default: return nil
        }
    }


    /// The UTC offset in seconds at an instant.
    package func offset(atUTC ms: Int64) -> Int {
        switch self {
        case .utc: return 0
        case .fixed(let s): return s
        case .named(let id):
            guard let tz = DateZone.timeZone(id) else { return 0 }
            return tz.secondsFromGMT(for: Date(timeIntervalSince1970: Double(floorDiv(ms, 1000))))
        }
    }

    /// The instant of a local wall-clock time.
    package func utc(fromLocal local: Int64) -> Int64 {
        switch self {
        case .utc: return local
        case .fixed(let s): return local - Int64(s) * 1000
        case .named:
            // As timelib resolves wall-clock times around a transition: the offset in force
            // before it, unless that gives an instant past the transition while the offset
            // after it gives a valid one. So a time that occurs twice (fall back) is its
            // first occurrence, and a time in a gap (spring forward: 02:30 in Paris on the
            // last Sunday of March) is read with the offset before the gap (03:30 CEST).
            let day: Int64 = 43_200_000
            let before = Int64(offset(atUTC: local - day)) * 1000
            let after = Int64(offset(atUTC: local + day)) * 1000
            let first = local - before
            if Int64(offset(atUTC: first)) * 1000 == before || before == after { return first }
            let second = local - after
            return Int64(offset(atUTC: second)) * 1000 == after ? second : first
        }
    }

    /// Local wall-clock milliseconds of an instant.
    package func local(_ ms: Int64) -> Int64 { ms + Int64(offset(atUTC: ms)) * 1000 }
}

@inlinable
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inlinable
func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

/// Proleptic Gregorian calendar arithmetic on days since the epoch.
enum Civil {
    static func days(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func date(_ days: Int64) -> (y: Int64, m: Int64, d: Int64) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// 0 = Sunday.
    static func weekday(_ days: Int64) -> Int64 { floorMod(days + 4, 7) }

    /// Monday of ISO week 1 of `isoYear`, as days.
    static func isoWeek1Monday(_ isoYear: Int64) -> Int64 {
        let jan4 = days(isoYear, 1, 4)
        let wd = (weekday(jan4) + 6) % 7  // 0 = Monday
        return jan4 - wd
    }
}

/// The calendar fields of an instant in a zone.
struct DateParts {
    var year: Int64, month: Int64, day: Int64
    var hour: Int64, minute: Int64, second: Int64, millisecond: Int64
    var days: Int64  // local days since epoch
    var offsetSeconds: Int

    init(_ ms: Int64, _ zone: DateZone) {
        offsetSeconds = zone.offset(atUTC: ms)
        let local = ms + Int64(offsetSeconds) * 1000
        days = floorDiv(local, 86_400_000)
        let rem = local - days * 86_400_000
        (year, month, day) = Civil.date(days)
        hour = rem / 3_600_000
        minute = rem / 60_000 % 60
        second = rem / 1000 % 60
        millisecond = rem % 1000
    }

    var dayOfYear: Int64 { days - Civil.days(year, 1, 1) + 1 }
    /// 1 = Sunday ... 7 = Saturday.
    var dayOfWeek: Int64 { Civil.weekday(days) + 1 }
    /// 1 = Monday ... 7 = Sunday.
    var isoDayOfWeek: Int64 { (Civil.weekday(days) + 6) % 7 + 1 }
    var week: Int64 { (dayOfYear - dayOfWeek + 7) / 7 }
    var isoWeekYear: Int64 {
        let thursday = days - (isoDayOfWeek - 4)
        return Civil.date(thursday).y
    }
    var isoWeek: Int64 {
        let thursday = days - (isoDayOfWeek - 4)
        let ty = Civil.date(thursday).y
        return (thursday - Civil.days(ty, 1, 1)) / 7 + 1
    }
}

/// `$dateToString` formatting.
enum DateFormat {
    static let isoFormat = "%Y-%m-%dT%H:%M:%S.%LZ"
    static let toStringSpecifiers: Set<Character> = ["d", "G", "H", "j", "L", "m", "M", "S", "w", "u", "U", "V", "Y", "z", "Z", "%"]
    static let fromStringSpecifiers: Set<Character> = ["b", "B", "d", "G", "H", "L", "m", "M", "S", "u", "V", "Y", "z", "Z", "%"]

    static func validate(_ format: String, _ allowed: Set<Character>) throws {
        var it = format.makeIterator()
        while let c = it.next() {
            guard c == "%" else { continue }
            guard let n = it.next() else { throw evalError("Unmatched '%' at end of format string") }
            if !allowed.contains(n) { throw evalError("Invalid format character '%\(n)' in format string") }
        }
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(Swift.abs(v))
        return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func format(_ ms: Int64, format: String, zone: DateZone) -> String {
        (try? formatChecked(ms, format: format, zone: zone)) ?? ""
    }

    static func formatChecked(_ ms: Int64, format: String, zone: DateZone) throws -> String {
        let p = DateParts(ms, zone)
        var out = ""
        var it = format.makeIterator()
        func checkYear(_ y: Int64) throws {
            if y < 0 || y > 9999 {
                throw evalError("Could not convert date to string: date component was outside the supported range of 0-9999: \(y)")
            }
        }
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let n = it.next() else { throw evalError("Unmatched '%' at end of format string") }
            switch n {
            case "d": out += pad(p.day, 2)
            case "G": try checkYear(p.isoWeekYear); out += pad(p.isoWeekYear, 4)
            case "H": out += pad(p.hour, 2)
            case "j": out += pad(p.dayOfYear, 3)
            case "L": out += pad(p.millisecond, 3)
            case "m": out += pad(p.month, 2)
            case "M": out += pad(p.minute, 2)
            case "S": out += pad(p.second, 2)
            case "w": out += String(p.dayOfWeek)
            case "u": out += String(p.isoDayOfWeek)
            case "U": out += pad(p.week, 2)
            case "V": out += pad(p.isoWeek, 2)
            case "Y": try checkYear(p.year); out += pad(p.year, 4)
            case "z":
                let o = p.offsetSeconds
                out += (o < 0 ? "-" : "+") + pad(Int64(Swift.abs(o) / 3600), 2) + pad(Int64(Swift.abs(o) / 60 % 60), 2)
            case "Z": out += String(p.offsetSeconds / 60)
            case "%": out += "%"
            default: throw evalError("Invalid format character '%\(n)' in format string")
            }
        }
        return out
    }
}

/// `$dateFromString` parsing. Without a format strata accepts the ISO 8601 forms
/// (`YYYY-MM-DD`, optionally `T` or a space and `HH:MM[:SS[.fff]]`, optionally `Z` or an
/// offset `±HH[:MM]`/`±HHMM`, and the basic forms without separators); other strings that
/// mongod's lenient timelib parser might accept are refused with `.unsupported`.
enum DateParse {
    struct Fields {
        var year: Int64?, month: Int64?, day: Int64?
        var hour: Int64?, minute: Int64?, second: Int64?, ms: Int64 = 0
        var isoYear: Int64?, isoWeek: Int64?, isoDay: Int64?
        var offset: Int?
    }

    static func failure(_ s: String, _ why: String) -> StrataError {
        evalError("Error parsing date string '\(s)'; \(why)")
    }

    static func parseDefault(_ s: String, zone: DateZone, hasZoneArgument: Bool) throws -> Int64 {
        let b = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func eat(_ c: UInt8) -> Bool { if i < b.count && b[i] == c { i += 1; return true }; return false }
        func unsupported() -> StrataError {
            StrataError.unsupported("$dateFromString: strata parses only ISO 8601 date strings without a 'format' (got '\(s)')")
        }
        var f = Fields()
        guard let y = digits(4) else { throw unsupported() }
        f.year = y
        let extended = eat(45)  // '-'
        guard let m = digits(2) else { throw unsupported() }
        if extended { guard eat(45) else { throw unsupported() } }
        guard let d = digits(2) else { throw unsupported() }
        f.month = m; f.day = d
        if i < b.count && (b[i] == 84 || b[i] == 32 || b[i] == 116) {  // T, space, t
            i += 1
            guard let h = digits(2) else { throw unsupported() }
            f.hour = h
            let colon = eat(58)
            guard let mi = digits(2) else { throw unsupported() }
            f.minute = mi
            f.second = 0
            if (colon && eat(58)) || (!colon && i < b.count && b[i] >= 48 && b[i] <= 57) {
                guard let sec = digits(2) else { throw unsupported() }
                f.second = sec
                if eat(46) || eat(44) {  // . or ,
                    var frac = ""
                    while i < b.count && b[i] >= 48 && b[i] <= 57 { frac.append(Character(Unicode.Scalar(b[i]))); i += 1 }
                    guard !frac.isEmpty else { throw unsupported() }
                    let three = (frac + "000").prefix(3)
                    f.ms = Int64(three)!
                }
            }
        }
        if i < b.count {
            if b[i] == 90 || b[i] == 122 { i += 1; f.offset = 0 }  // Z
            else if b[i] == 43 || b[i] == 45 {
                let rest = String(decoding: b[i...], as: UTF8.self)
                guard let o = DateZone.parseOffset(rest) else { throw unsupported() }
                f.offset = o
                i = b.count
            }
        }
        guard i == b.count else { throw unsupported() }
        if f.offset != nil && hasZoneArgument {
            throw evalError("you cannot pass in a date/time string with GMT offset together with a timezone argument")
        }
        return try assemble(f, zone: zone, original: s, strictRanges: true)
    }

    static func assemble(_ f: Fields, zone: DateZone, original s: String, strictRanges: Bool) throws -> Int64 {
        var days: Int64
        if let iy = f.isoYear {
            let w = f.isoWeek ?? 1, d = f.isoDay ?? 1
            days = Civil.isoWeek1Monday(iy) + (w - 1) * 7 + (d - 1)
        } else {
            guard let y = f.year, let m = f.month, let d = f.day else {
                throw evalError("an incomplete date/time string has been found, with elements missing: \"\(s)\"")
            }
            if strictRanges && (m < 1 || m > 12 || d < 1 || d > Civil.daysInMonth(y, m)) {
                throw failure(s, "The parsed date was invalid")
            }
            days = Civil.days(y, m, d)
        }
        let h = f.hour ?? 0, mi = f.minute ?? 0, sec = f.second ?? 0
        if strictRanges && (h > 24 || mi > 59 || sec > 60) { throw failure(s, "The parsed time was invalid") }
        let local = days * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + f.ms
        if let off = f.offset { return local - Int64(off) * 1000 }
        return zone.utc(fromLocal: local)
    }

    static let monthNames = ["january", "february", "march", "april", "may", "june", "july", "august",
                             "september", "october", "november", "december"]

    /// Parsing with an explicit format (mongod's specifiers %b %B %d %G %H %L %m %M %S %u %V %Y %z %Z %%).
    static func parse(_ s: String, format: String, zone: DateZone, hasZoneArgument: Bool) throws -> Int64 {
        let b = Array(s.utf8)
        var i = 0
        var f = Fields()
        func number(_ maxDigits: Int, _ what: String) throws -> Int64 {
            var v: Int64 = 0, n = 0
            while n < maxDigits && i < b.count && b[i] >= 48 && b[i] <= 57 { v = v * 10 + Int64(b[i] - 48); i += 1; n += 1 }
            if n == 0 { throw failure(s, "\(i): Unexpected data found.") }
            return v
        }
        var fi = format.utf8.makeIterator()
        while let c = fi.next() {
            if c != 37 {  // literal
                guard i < b.count, b[i] == c else { throw failure(s, "\(i): The separation symbol could not be found") }
                i += 1
                continue
            }
            guard let spec = fi.next() else { throw evalError("Unmatched '%' at end of format string") }
            switch spec {
            case UInt8(ascii: "Y"): f.year = try number(4, "year")
            case UInt8(ascii: "G"): f.isoYear = try number(4, "iso year")
            case UInt8(ascii: "m"): f.month = try number(2, "month")
            case UInt8(ascii: "d"): f.day = try number(2, "day")
            case UInt8(ascii: "H"): f.hour = try number(2, "hour")
            case UInt8(ascii: "M"): f.minute = try number(2, "minute")
            case UInt8(ascii: "S"): f.second = try number(2, "second")
            case UInt8(ascii: "L"):
                let start = i
                let v = try number(3, "millisecond")
                let n = i - start
                f.ms = n == 3 ? v : (n == 2 ? v * 10 : v * 100)
            case UInt8(ascii: "V"): f.isoWeek = try number(2, "iso week")
            case UInt8(ascii: "u"): f.isoDay = try number(1, "iso day")
            case UInt8(ascii: "b"), UInt8(ascii: "B"):
                let rest = String(decoding: b[i...], as: UTF8.self).lowercased()
                guard let (idx, name) = monthNames.enumerated().first(where: { rest.hasPrefix(spec == UInt8(ascii: "b") ? String($0.element.prefix(3)) : $0.element) }).map({ ($0.offset, $0.element) }) else {
                    throw failure(s, "\(i): A textual month could not be found")
                }
                f.month = Int64(idx + 1)
                i += spec == UInt8(ascii: "b") ? 3 : name.utf8.count
            case UInt8(ascii: "z"):
                if i < b.count && (b[i] == 90) { i += 1; f.offset = 0; break }
                var j = i + 1
                while j < b.count && ((b[j] >= 48 && b[j] <= 57) || b[j] == 58) { j += 1 }
                guard let o = DateZone.parseOffset(String(decoding: b[i..<j], as: UTF8.self)) else {
                    throw failure(s, "\(i): The timezone could not be found in the database")
                }
                f.offset = o
                i = j
            case UInt8(ascii: "Z"):
                var j = i
                if j < b.count && (b[j] == 43 || b[j] == 45) { j += 1 }
                let start = j
                while j < b.count && b[j] >= 48 && b[j] <= 57 { j += 1 }
                guard j > start, let minutes = Int(String(decoding: b[i..<j], as: UTF8.self)) else {
                    throw failure(s, "\(i): Unexpected data found.")
                }
                f.offset = minutes * 60
                i = j
            case UInt8(ascii: "%"):
                guard i < b.count, b[i] == 37 else { throw failure(s, "\(i): The escaped character could not be found") }
                i += 1
            default:
                throw evalError("Invalid format character '%\(Character(Unicode.Scalar(spec)))' in format string")
            }
        }
        if i < b.count { throw failure(s, "\(i): Trailing data") }
        if f.offset != nil && hasZoneArgument {
            throw evalError("you cannot pass in a date/time string with GMT offset together with a timezone argument")
        }
        if f.isoYear == nil {
            if f.year == nil || f.month == nil || f.day == nil {
                throw StrataError.unsupported("$dateFromString: formats without a full year, month and day are not supported by strata's evaluator")
            }
        }
        // timelib sets the unset time fields to 0 once any of them was parsed (or none was).
        f.hour = f.hour ?? 0; f.minute = f.minute ?? 0; f.second = f.second ?? 0
        return try assemble(f, zone: zone, original: s, strictRanges: true)
    }
}
