import Foundation
import StrataBSON

enum TimeUnit: String {
    case year, quarter, month, week, day, hour, minute, second, millisecond
}

extension EvalContext {
    static let dateOps: [String: OpFn] = {
        var t: [String: OpFn] = [:]
        let parts: [(String, @Sendable (DateParts) -> BSON)] = [
            ("$year", { .int32(Int32($0.year)) }),
            ("$month", { .int32(Int32($0.month)) }),
            ("$dayOfMonth", { .int32(Int32($0.day)) }),
            ("$hour", { .int32(Int32($0.hour)) }),
            ("$minute", { .int32(Int32($0.minute)) }),
            ("$second", { .int32(Int32($0.second)) }),
            ("$millisecond", { .int32(Int32($0.millisecond)) }),
            ("$dayOfYear", { .int32(Int32($0.dayOfYear)) }),
            ("$dayOfWeek", { .int32(Int32($0.dayOfWeek)) }),
            ("$week", { .int32(Int32($0.week)) }),
            ("$isoWeek", { .int32(Int32($0.isoWeek)) }),
            ("$isoWeekYear", { .int64($0.isoWeekYear) }),
            ("$isoDayOfWeek", { .int32(Int32($0.isoDayOfWeek)) }),
        ]
        for (name, f) in parts {
            t[name] = { c, a in
                let date: BSON?, zoneExpr: Expr?
                switch a {
                case .positional(let p): date = try c.eval(p[0]); zoneExpr = nil
                case .named: date = try c.named(a, "date"); zoneExpr = a["timezone"]
                }
                if BSON.isNullish(date) { return .null }
                guard let zone = try c.zone(zoneExpr) else { return .null }
                return f(DateParts(try coerceToDate(date!), zone))
            }
        }
        t["$dateToString"] = { c, a in
            let date = try c.named(a, "date")
            var format: BSON?
            if a["format"] != nil {
                format = try c.named(a, "format")
                if !BSON.isNullish(format) {
                    guard case .string(let fs)? = format else {
                        throw evalError("$dateToString requires that 'format' be a string, found: \(typeName(format)) with value \(show(format))")
                    }
                    try DateFormat.validate(fs, DateFormat.toStringSpecifiers)
                }
            }
            let zone = try c.zone(a["timezone"])
            if BSON.isNullish(date) { return a["onNull"] != nil ? try c.named(a, "onNull") : .null }
            guard let zone else { return .null }
            let ms = try coerceToDate(date!)
            if a["format"] != nil {
                guard case .string(let fs)? = format else { return .null }
                return .string(try DateFormat.formatChecked(ms, format: fs, zone: zone))
            }
            return .string(try DateFormat.formatChecked(ms, format: DateFormat.isoFormat, zone: zone))
        }
        t["$dateFromString"] = { c, a in
            let s = try c.named(a, "dateString")
            var format: String?
            var formatNull = false
            if a["format"] != nil {
                let fv = try c.named(a, "format")
                if BSON.isNullish(fv) { formatNull = true } else {
                    guard case .string(let fs)? = fv else {
                        throw evalError("$dateFromString requires that 'format' be a string, found: \(typeName(fv)) with value \(show(fv))")
                    }
                    try DateFormat.validate(fs, DateFormat.fromStringSpecifiers)
                    format = fs
                }
            }
            let zone = try c.zone(a["timezone"])
            if BSON.isNullish(s) { return a["onNull"] != nil ? try c.named(a, "onNull") : .null }
            do {
                guard case .string(let str)? = s else {
                    throw evalError("$dateFromString requires that 'dateString' be a string, found: \(typeName(s)) with value \(show(s))")
                }
                guard let zone else { return .null }
                if formatNull { return .null }
                let hasZone = a["timezone"] != nil && zone != .utc
                if let format {
                    return .date(try DateParse.parse(str, format: format, zone: zone, hasZoneArgument: hasZone))
                }
                return .date(try DateParse.parseDefault(str, zone: zone, hasZoneArgument: hasZone))
            } catch let e as StrataError where e.kind == .evaluation {
                if a["onError"] != nil { return try c.named(a, "onError") }
                throw e
            }
        }
        t["$dateFromParts"] = { c, a in try dateFromParts(c, a) }
        t["$dateToParts"] = { c, a in
            let date = try c.named(a, "date")
            guard let zone = try c.zone(a["timezone"]) else { return .null }
            var iso = false
            if a["iso8601"] != nil {
                let v = try c.named(a, "iso8601")
                if BSON.isNullish(v) { return .null }
                guard case .bool(let b)? = v else { throw evalError("iso8601 must evaluate to a bool, found \(typeName(v))") }
                iso = b
            }
            if BSON.isNullish(date) { return .null }
            let p = DateParts(try coerceToDate(date!), zone)
            if iso {
                return .document(["isoWeekYear": .int32(Int32(p.isoWeekYear)), "isoWeek": .int32(Int32(p.isoWeek)),
                                  "isoDayOfWeek": .int32(Int32(p.isoDayOfWeek)), "hour": .int32(Int32(p.hour)),
                                  "minute": .int32(Int32(p.minute)), "second": .int32(Int32(p.second)),
                                  "millisecond": .int32(Int32(p.millisecond))])
            }
            return .document(["year": .int32(Int32(p.year)), "month": .int32(Int32(p.month)), "day": .int32(Int32(p.day)),
                              "hour": .int32(Int32(p.hour)), "minute": .int32(Int32(p.minute)),
                              "second": .int32(Int32(p.second)), "millisecond": .int32(Int32(p.millisecond))])
        }
        t["$dateTrunc"] = { c, a in
            let date = try c.named(a, "date")
            let unitV = try c.named(a, "unit")
            let binV: BSON? = a["binSize"] != nil ? try c.named(a, "binSize") : .int64(1)
            let zone = try c.zone(a["timezone"])
            var sowV: BSON? = .string("sunday")
            if case .string("week")? = unitV, a["startOfWeek"] != nil { sowV = try c.named(a, "startOfWeek") }
            if BSON.isNullish(date) || BSON.isNullish(unitV) || BSON.isNullish(binV) || zone == nil || BSON.isNullish(sowV) {
                return .null
            }
            let ms = try dateArgument(date!, "$dateTrunc", "date")
            let unit = try timeUnit(unitV!, "$dateTrunc")
            guard binV!.isNumber, Numeric.isIntegral64(binV!) else {
                throw evalError("$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '\(show(binV))' of type \(typeName(binV))")
            }
            let bin = Numeric.coerceToLong(binV!)!
            if bin <= 0 { throw evalError("$dateTrunc requires 'binSize' to be greater than 0, but got value \(bin)") }
            let sow = unit == .week ? try startOfWeek(sowV!, "$dateTrunc") : 7
            return .date(try DateMath.truncate(ms, unit: unit, binSize: bin, zone: zone!, startOfWeek: sow))
        }
        t["$dateAdd"] = { c, a in try dateAdd(c, a, "$dateAdd", sign: 1) }
        t["$dateSubtract"] = { c, a in try dateAdd(c, a, "$dateSubtract", sign: -1) }
        t["$dateDiff"] = { c, a in
            let s = try c.named(a, "startDate"), e = try c.named(a, "endDate"), u = try c.named(a, "unit")
            let zone = try c.zone(a["timezone"])
            var sowV: BSON? = .string("sunday")
            if a["startOfWeek"] != nil { sowV = try c.named(a, "startOfWeek") }
            if BSON.isNullish(s) || BSON.isNullish(e) || BSON.isNullish(u) || zone == nil { return .null }
            let sms = try dateArgument(s!, "$dateDiff", "startDate")
            let ems = try dateArgument(e!, "$dateDiff", "endDate")
            let unit = try timeUnit(u!, "$dateDiff")
            var sow: Int64 = 7
            if unit == .week {
                if BSON.isNullish(sowV) { return .null }
                sow = try startOfWeek(sowV!, "$dateDiff")
            }
            return .int64(try DateMath.diff(sms, ems, unit: unit, zone: zone!, startOfWeek: sow))
        }
        return t
    }()

    /// The zone of an optional `timezone` argument; nil when it evaluates to null/missing.
    func zone(_ e: Expr?) throws -> DateZone? {
        guard let e else { return .utc }
        let v = try eval(e)
        if BSON.isNullish(v) { return nil }
        guard case .string(let id)? = v else { throw evalError("timezone must evaluate to a string, found \(typeName(v))") }
        return try DateZone.parse(id)
    }

    /// mongod's `coerceToDate`: dates, timestamps (seconds), ObjectIds (creation second).
    static func coerceToDate(_ v: BSON) throws -> Int64 {
        switch v {
        case .date(let ms): return ms
        case .timestamp(let t): return Int64(t.t) * 1000
        case .objectId(let o): return Int64(o.timestamp) * 1000
        default: throw evalError("can't convert from BSON type \(v.typeName) to Date")
        }
    }

    static func dateArgument(_ v: BSON, _ op: String, _ name: String) throws -> Int64 {
        switch v {
        case .date, .timestamp, .objectId: return try coerceToDate(v)
        default: throw evalError("\(op) requires '\(name)' to be a date, but got \(v.typeName)")
        }
    }

    static func timeUnit(_ v: BSON, _ op: String) throws -> TimeUnit {
        guard case .string(let s) = v else { throw evalError("\(op) requires 'unit' to be a string, but got \(v.typeName)") }
        guard let u = TimeUnit(rawValue: s) else { throw evalError("\(op) parameter 'unit' value cannot be recognized as a time unit: \(s)") }
        return u
    }

    /// 1 = Monday ... 7 = Sunday.
    static func startOfWeek(_ v: BSON, _ op: String) throws -> Int64 {
        guard case .string(let s) = v else { throw evalError("\(op) requires 'startOfWeek' to be a string, but got \(v.typeName)") }
        let names = ["monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "wednesday": 3, "wed": 3, "thursday": 4, "thu": 4,
                     "friday": 5, "fri": 5, "saturday": 6, "sat": 6, "sunday": 7, "sun": 7]
        guard let d = names[s.lowercased()] else {
            throw evalError("\(op) parameter 'startOfWeek' value cannot be recognized as a day of a week: \(s)")
        }
        return Int64(d)
    }

    static func dateAdd(_ c: EvalContext, _ a: ExprArgs, _ op: String, sign: Int64) throws -> BSON? {
        let s = try c.named(a, "startDate"), u = try c.named(a, "unit"), amt = try c.named(a, "amount")
        let zone = try c.zone(a["timezone"])
        if BSON.isNullish(s) || BSON.isNullish(u) || BSON.isNullish(amt) || zone == nil { return .null }
        let ms = try dateArgument(s!, op, "startDate")
        let unit = try timeUnit(u!, op)
        guard amt!.isNumber, Numeric.isIntegral64(amt!) else {
            throw evalError("\(op) expects integer amount of time units")
        }
        var amount = Numeric.coerceToLong(amt!)!
        if sign < 0 {
            if amount == .min { throw evalError("invalid \(op) 'amount' parameter value: \(amount)") }
            amount = -amount
        }
        return .date(try DateMath.add(ms, unit: unit, amount: amount, zone: zone!))
    }

    static func dateFromParts(_ c: EvalContext, _ a: ExprArgs) throws -> BSON? {
        func num(_ k: String, _ def: Int64, bounded: Bool) throws -> Int64?? {
            guard a[k] != nil else { return .some(def) }
            let v = try c.named(a, k)
            if BSON.isNullish(v) { return .some(nil) }
            guard let v, Numeric.isIntegral64(v) else {
                throw evalError("'\(k)' must evaluate to an integer, found \(typeName(v)) with value \(show(v))")
            }
            let n = Numeric.coerceToLong(v)!
            if bounded && (n < -32768 || n > 32767) {
                throw evalError("'\(k)' must evaluate to a value in the range [-32768, 32767]; value \(n) is not in range")
            }
            return .some(n)
        }
        guard let hour = try num("hour", 0, bounded: true), let minute = try num("minute", 0, bounded: true),
              let second = try num("second", 0, bounded: false), let ms = try num("millisecond", 0, bounded: false)
        else { return .null }
        guard let h = hour, let mi = minute, let s = second, let l = ms else { return .null }
        guard let zone = try c.zone(a["timezone"]) else { return .null }
        var days: Int64
        if a["year"] != nil {
            guard let year = try num("year", 1970, bounded: false), let month = try num("month", 1, bounded: true),
                  let day = try num("day", 1, bounded: true), let y = year, let m = month, let d = day else { return .null }
            if y < 1 || y > 9999 {
                throw evalError("'year' must evaluate to an integer in the range 1 to 9999, found \(y)")
            }
            // months and days outside their range carry over (timelib's normalisation)
            let m0 = m - 1
            let yy = y + floorDiv(m0, 12), mm = floorMod(m0, 12) + 1
            days = Civil.days(yy, mm, 1) + (d - 1)
        } else {
            guard let iy = try num("isoWeekYear", 1970, bounded: false), let iw = try num("isoWeek", 1, bounded: true),
                  let idw = try num("isoDayOfWeek", 1, bounded: true), let y = iy, let w = iw, let dw = idw else { return .null }
            if y < 1 || y > 9999 {
                throw evalError("'isoWeekYear' must evaluate to an integer in the range 1 to 9999, found \(y)")
            }
            days = Civil.isoWeek1Monday(y) + (w - 1) * 7 + (dw - 1)
        }
        let local = days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + l
        return .date(zone.utc(fromLocal: local))
    }
}

/// mongod's $dateAdd / $dateDiff / $dateTrunc calendar arithmetic (date_time_support.cpp).
enum DateMath {
    static func addMonths(_ y: Int64, _ m: Int64, _ amount: Int64) -> (Int64, Int64) {
        let t = (m - 1) + amount
        return (y + floorDiv(t, 12), floorMod(t, 12) + 1)
    }

    static func add(_ ms: Int64, unit: TimeUnit, amount: Int64, zone: DateZone) throws -> Int64 {
        switch unit {
        case .millisecond:
            let (r, o) = ms.addingReportingOverflow(amount)
            if o { throw evalError("dateAdd overflowed") }
            return r
        case .hour, .minute, .second:
            let per: Int64 = unit == .hour ? 3_600_000 : unit == .minute ? 60_000 : 1000
            let (d, o1) = amount.multipliedReportingOverflow(by: per)
            let (r, o2) = ms.addingReportingOverflow(d)
            if o1 || o2 { throw evalError("dateAdd overflowed") }
            return r
        case .day, .week:
            let days = unit == .week ? amount * 7 : amount
            return try addDaysLocal(ms, days, zone)
        case .year, .quarter, .month:
            let months = unit == .year ? amount * 12 : unit == .quarter ? amount * 3 : amount
            if Swift.abs(months) > 12 * 300_000_000 { throw evalError("invalid dateAdd 'amount' parameter value: \(amount) \(unit.rawValue)") }
            let p = DateParts(ms, zone)
            let (ry, rm) = addMonths(p.year, p.month, months)
            let targetDay = min(p.day, Civil.daysInMonth(ry, rm))
            let dayDelta = Civil.days(ry, rm, targetDay) - p.days
            return try addDaysLocal(ms, dayDelta, zone)
        }
    }

    /// Adds whole days on the local calendar, keeping the wall-clock time.
    static func addDaysLocal(_ ms: Int64, _ days: Int64, _ zone: DateZone) throws -> Int64 {
        let (d, o1) = days.multipliedReportingOverflow(by: 86_400_000)
        if o1 { throw evalError("dateAdd overflowed") }
        switch zone {
        case .utc, .fixed:
            let (r, o) = ms.addingReportingOverflow(d)
            if o { throw evalError("dateAdd overflowed") }
            return r
        case .named:
            let local = zone.local(ms)
            let (l2, o) = local.addingReportingOverflow(d)
            if o { throw evalError("dateAdd overflowed") }
            return zone.utc(fromLocal: l2)
        }
    }

    static func diffDays(_ a: DateParts, _ b: DateParts) -> Int64 { b.days - a.days }

    /// 0 = first day of the week.
    static func dayOfWeek(_ p: DateParts, _ startOfWeek: Int64) -> Int64 { (p.isoDayOfWeek - startOfWeek + 7) % 7 }

    static func diff(_ s: Int64, _ e: Int64, unit: TimeUnit, zone: DateZone, startOfWeek: Int64) throws -> Int64 {
        if unit == .millisecond {
            let (r, o) = e.subtractingReportingOverflow(s)
            if o { throw evalError("dateDiff overflowed") }
            return r
        }
        let a = DateParts(s, zone), b = DateParts(e, zone)
        let zc = Int64(a.offsetSeconds - b.offsetSeconds)
        switch unit {
        case .year: return b.year - a.year
        case .quarter: return (b.month - 1) / 3 - (a.month - 1) / 3 + (b.year - a.year) * 4
        case .month: return b.month - a.month + (b.year - a.year) * 12
        case .week: return (diffDays(a, b) + dayOfWeek(a, startOfWeek) - dayOfWeek(b, startOfWeek)) / 7
        case .day: return diffDays(a, b)
        case .hour: return b.hour - a.hour + diffDays(a, b) * 24 + zc / 3600
        case .minute: return b.minute - a.minute + (b.hour - a.hour + diffDays(a, b) * 24) * 60 + zc / 60
        case .second:
            return b.second - a.second + (b.minute - a.minute + (b.hour - a.hour + diffDays(a, b) * 24) * 60) * 60 + zc
        case .millisecond: return e - s
        }
    }

    static func truncate(_ ms: Int64, unit: TimeUnit, binSize: Int64, zone: DateZone, startOfWeek: Int64) throws -> Int64 {
        let refUTC: Int64 = 946_684_800_000  // 2000-01-01T00:00:00Z
        var refMillis = refUTC - Int64(zone.offset(atUTC: refUTC)) * 1000
        var refDays = Civil.days(2000, 1, 1)
        if unit == .week {
            // 2000-01-01 is a Saturday (ISO 6): move to the next start of week.
            let refDow = (6 - startOfWeek + 7) % 7
            let adjust = (7 - refDow) % 7
            refMillis += adjust * 86_400_000
            refDays += adjust
        }
        func binned(_ distance: Int64) -> Int64 {
            var r = distance % binSize
            if r < 0 { r += binSize }
            return distance - r
        }
        switch unit {
        case .millisecond, .second, .minute, .hour:
            let per: Int64 = unit == .hour ? 3_600_000 : unit == .minute ? 60_000 : unit == .second ? 1000 : 1
            let (size, o) = binSize.multipliedReportingOverflow(by: per)
            if o { throw evalError("dateTrunc overflowed") }
            let shifted = ms - refMillis
            var r = shifted % size
            if r < 0 { r += size }
            return ms - r
        default:
            if binSize > 100_000_000_000 { throw evalError("dateTrunc unsupported binSize value") }
            let p = DateParts(ms, zone)
            let ref = Civil.date(refDays)
            let distance: Int64
            switch unit {
            case .day: distance = p.days - refDays
            case .week:
                let refIsoDow = (Civil.weekday(refDays) + 6) % 7 + 1
                let refDow0 = (refIsoDow - startOfWeek + 7) % 7
                distance = (p.days - refDays + refDow0 - DateMath.dayOfWeek(p, startOfWeek)) / 7
            case .month: distance = p.month - ref.m + (p.year - ref.y) * 12
            case .quarter: distance = (p.month - 1) / 3 - (ref.m - 1) / 3 + (p.year - ref.y) * 4
            default: distance = p.year - ref.y
            }
            return try add(refMillis, unit: unit, amount: binned(distance), zone: zone)
        }
    }
}
