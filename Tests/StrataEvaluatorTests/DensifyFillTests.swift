import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// `$densify`, `$fill` and `$linearFill` against the outputs documented by MongoDB (the
/// manual's examples and mongod's own jstests), since SecantusDB densifies differently
/// (it ignores `bounds: "full"` across partitions, skips the lower explicit bound, writes
/// dotted field names literally and never changes the generated values' type).
final class DensifyFillTests: XCTestCase {
    func run(_ pipeline: String, _ docs: [Document]) throws -> [Document] {
        try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? [])).run(docs)
    }
    func docs(_ json: String) -> [Document] { (J(json).arrayValue ?? []).compactMap { if case .document(let d) = $0 { return d } else { return nil } } }
    func compare(_ out: [Document], _ expected: [Document], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNil(BSONComparison().difference(out, expected), "\n" + out.map { ExtendedJSON.string($0) }.joined(separator: "\n"), file: file, line: line)
    }

    /// The manual's coffee example: `full` bounds densify every partition over the whole
    /// range; the partitions are finished after the input ends.
    func testDensifyFullAcrossPartitions() throws {
        let input = docs(#"""
        [{"altitude": 600, "variety": "Arabica Typica", "score": 68.3}, {"altitude": 750, "variety": "Arabica Typica", "score": 69.5},
         {"altitude": 950, "variety": "Arabica Typica", "score": 70.5}, {"altitude": 1250, "variety": "Gesha", "score": 88.15},
         {"altitude": 1700, "variety": "Gesha", "score": 88.5, "price": 1029}]
        """#)
        let out = try run(#"[{"$densify": {"field": "altitude", "partitionByFields": ["variety"], "range": {"bounds": "full", "step": 200}}}]"#, input)
        compare(out, docs(#"""
        [{"altitude": 600, "variety": "Arabica Typica", "score": 68.3}, {"altitude": 750, "variety": "Arabica Typica", "score": 69.5},
         {"variety": "Arabica Typica", "altitude": 800}, {"altitude": 950, "variety": "Arabica Typica", "score": 70.5},
         {"variety": "Gesha", "altitude": 600}, {"variety": "Gesha", "altitude": 800}, {"variety": "Gesha", "altitude": 1000},
         {"variety": "Gesha", "altitude": 1200}, {"altitude": 1250, "variety": "Gesha", "score": 88.15},
         {"variety": "Gesha", "altitude": 1400}, {"variety": "Gesha", "altitude": 1600},
         {"altitude": 1700, "variety": "Gesha", "score": 88.5, "price": 1029},
         {"variety": "Arabica Typica", "altitude": 1000}, {"variety": "Arabica Typica", "altitude": 1200},
         {"variety": "Arabica Typica", "altitude": 1400}, {"variety": "Arabica Typica", "altitude": 1600}]
        """#))
        // partition bounds: each partition between its own extremes
        let part = try run(#"[{"$densify": {"field": "altitude", "partitionByFields": ["variety"], "range": {"bounds": "partition", "step": 200}}}]"#, input)
        XCTAssertEqual(part.map { $0["altitude"] }, [600, 750, 800, 950, 1250, 1450, 1650, 1700])
    }

    /// The manual's time-series example: explicit date bounds, the upper one exclusive;
    /// documents outside the range pass through.
    func testDensifyExplicitDates() throws {
        let input = docs(#"""
        [{"metadata": {"sensorId": 5578}, "timestamp": {"$date": "2021-05-18T00:00:00Z"}, "temp": 12},
         {"metadata": {"sensorId": 5578}, "timestamp": {"$date": "2021-05-18T04:00:00Z"}, "temp": 11},
         {"metadata": {"sensorId": 5578}, "timestamp": {"$date": "2021-05-18T08:00:00Z"}, "temp": 11},
         {"metadata": {"sensorId": 5578}, "timestamp": {"$date": "2021-05-18T12:00:00Z"}, "temp": 12}]
        """#)
        let out = try run(#"[{"$densify": {"field": "timestamp", "range": {"step": 1, "unit": "hour", "bounds": [{"$date": "2021-05-18T00:00:00Z"}, {"$date": "2021-05-18T08:00:00Z"}]}}}]"#, input)
        let hours = out.map { d -> Int64 in if case .date(let ms)? = d["timestamp"] { return (ms - 1_621_296_000_000) / 3_600_000 } else { return -1 } }
        XCTAssertEqual(hours, [0, 1, 2, 3, 4, 5, 6, 7, 8, 12])
        XCTAssertEqual(out[1], ["timestamp": .date(1_621_296_000_000 + 3_600_000)])
        // month steps are added to the previous grid value: Jan 29 → Feb 28 → Mar 28
        let months = try run(#"[{"$densify": {"field": "t", "range": {"step": 1, "unit": "month", "bounds": "full"}}}]"#,
                             [["t": .date(1_611_878_400_000)], ["t": .date(1_619_827_200_000)]])  // 2021-01-29, 2021-05-01
        XCTAssertEqual(months.count, 5)
        XCTAssertEqual(months[2]["t"], .date(1_616_889_600_000))  // 2021-03-28
    }

    /// mongod's fill_and_densify.js, and the grid kept on the first value; nulls pass
    /// through first; values equal to the grid take over its type.
    func testDensifyNumbers() throws {
        let out = try run(#"[{"$densify": {"field": "val", "range": {"step": 1, "bounds": "full"}}}, {"$fill": {"output": {"toFill": {"method": "locf"}}}}]"#,
                          docs(#"[{"val": 0, "toFill": 1}, {"val": 5, "toFill": 3}, {"val": 10, "toFill": 5}]"#))
        XCTAssertEqual(out.map { $0["val"] }, (0...10).map { .int32(Int32($0)) })
        XCTAssertEqual(out.map { $0["toFill"] }, [1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 5])
        let grid = try run(#"[{"$densify": {"field": "v", "range": {"step": 3, "bounds": "full"}}}]"#,
                           docs(#"[{"v": 7}, {"v": null}, {"v": 1}, {"v": 2}, {"x": 1}]"#))
        XCTAssertEqual(grid.map { $0["v"] }, [.null, nil, 1, 2, 4, 7])
        let types = try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": "full"}}}]"#,
                            [["v": 0], ["v": .int64(1)], ["v": 3]])
        XCTAssertEqual(types.map { $0["v"] }, [.int32(0), .int64(1), .int64(2), .int32(3)])
        let explicit = try run(#"[{"$densify": {"field": "v", "range": {"step": 2, "bounds": [0, 7]}}}]"#, docs(#"[{"v": -3}, {"v": 3}, {"v": 20}]"#))
        XCTAssertEqual(explicit.map { $0["v"] }, [-3, 0, 2, 3, 4, 6, 20])
        let nested = try run(#"[{"$densify": {"field": "o.v", "range": {"step": 5, "bounds": "full"}}}]"#, docs(#"[{"o": {"v": 0}}, {"o": {"v": 11}}]"#))
        XCTAssertEqual(nested.map { $0["o"] }, [["v": 0], ["v": 5], ["v": 10], ["v": 11]])
        let empty = try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": [0, 3]}}}]"#, [])
        XCTAssertEqual(empty.map { $0["v"] }, [0, 1, 2])
    }

    func testDensifyErrors() throws {
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": "partition"}}}]"#, [])) {
            XCTAssertTrue("\($0)".contains("partitionByFields"))
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 0, "bounds": "full"}}}]"#, [])) {
            XCTAssertEqual(($0 as? StrataError)?.location?.path, "pipeline[0].$densify.range.step")
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": [0, 5.0]}}}]"#, [])) {
            XCTAssertTrue("\($0)".contains("same type"))
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": "full"}}}]"#, [["v": "x"]])) {
            XCTAssertTrue("\($0)".contains("must be numeric or a date"))
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "unit": "day", "bounds": "full"}}}]"#, [["v": 1]])) {
            XCTAssertTrue("\($0)".contains("numeric densify value"))
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": "full"}}}]"#, [["v": 0], ["v": 600_000]])) {
            XCTAssertTrue("\($0)".contains("over the limit of 500000"))
        }
        let p = try Pipeline.parse(J(#"[{"$densify": {"field": "a.b", "partitionByFields": ["p"], "range": {"step": 2, "unit": "day", "bounds": [{"$date": "2021-01-01T00:00:00Z"}, {"$date": "2021-02-01T00:00:00Z"}]}}}]"#).arrayValue ?? [])
        XCTAssertEqual(try Pipeline.parse(p.bson), p)
    }

    /// mongod's linear_fill.js: interpolation computed as y1 + (x − x1)·((y2 − y1)/(x2 − x1)).
    func testLinearFill() throws {
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"val": {"$linearFill": "$val"}}}}]"#,
                          docs(#"[{"_id": 0.5, "val": 0}, {"_id": 1, "val": null}, {"_id": 4.384, "val": null}, {"_id": 9, "val": null}, {"_id": 10.09283, "val": 11.28374}]"#))
        XCTAssertEqual(out.map { $0["val"] }, [0, 0.5881340542884634, 4.5686253337127845, 9.998278922903879, 11.28374])
        let byDate = try run(#"[{"$setWindowFields": {"partitionBy": "$borough", "sortBy": {"date": 1}, "output": {"y": {"$linearFill": "$y"}}}}]"#, docs(#"""
        [{"borough": "Manhattan", "y": -1, "date": {"$date": "2000-12-28T00:00:00Z"}}, {"borough": "Manhattan", "y": null, "date": {"$date": "2001-12-28T00:00:00Z"}},
         {"borough": "Bronx", "y": -10, "date": {"$date": "2002-12-28T00:00:00Z"}}, {"borough": "Bronx", "y": null, "date": {"$date": "2003-12-28T00:00:00Z"}},
         {"borough": "Bronx", "y": null, "date": {"$date": "2004-12-28T00:00:00Z"}}, {"borough": "Bronx", "y": 200, "date": {"$date": "2005-12-28T00:00:00Z"}},
         {"borough": "Manhattan", "y": -10, "date": {"$date": "2006-12-28T00:00:00Z"}}, {"borough": "Queens", "y": -2, "date": {"$date": "2007-12-28T00:00:00Z"}},
         {"borough": "Queens", "y": -20, "date": {"$date": "2008-12-28T00:00:00Z"}}, {"borough": "Queens", "date": {"$date": "2009-12-28T00:00:00Z"}}]
        """#))
        XCTAssertEqual(byDate.map { $0["y"] }, [-10, 59.93613138686132, 130.06386861313868, 200, -1, -2.499315381104519, -10, -2, -20, .null])
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"v": {"$linearFill": "$v"}}}}]"#, docs(#"[{"t": 1, "v": 1}, {"t": 1, "v": null}]"#))) {
            XCTAssertTrue("\($0)".contains("no repeated values"))
        }
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"v": {"$linearFill": "$v"}}}}]"#, docs(#"[{"t": 1, "v": "s"}]"#))) {
            XCTAssertTrue("\($0)".contains("numeric or nullish"))
        }
        XCTAssertThrowsError(try Pipeline.parse(J(#"[{"$setWindowFields": {"sortBy": {"a": 1, "b": 1}, "output": {"v": {"$linearFill": "$v"}}}}]"#).arrayValue ?? []))
    }

    /// The manual's $fill examples: a constant for missing/null values, linear
    /// interpolation, last observation carried forward, partitions.
    func testFill() throws {
        let prices = docs(#"""
        [{"time": {"$date": "2021-03-08T09:00:00.500Z"}, "price": 500}, {"time": {"$date": "2021-03-08T10:00:00.500Z"}},
         {"time": {"$date": "2021-03-08T11:00:00.500Z"}, "price": 515}, {"time": {"$date": "2021-03-08T12:00:00.500Z"}},
         {"time": {"$date": "2021-03-08T13:00:00.500Z"}}, {"time": {"$date": "2021-03-08T14:00:00.500Z"}, "price": 485}]
        """#)
        let linear = try run(#"[{"$fill": {"sortBy": {"time": 1}, "output": {"price": {"method": "linear"}}}}]"#, prices)
        XCTAssertEqual(linear.map { $0["price"] }, [500, 507.5, 515, 505.0, 495.0, 485])
        let locf = try run(#"[{"$fill": {"sortBy": {"time": 1}, "output": {"price": {"method": "locf"}}}}]"#, prices)
        XCTAssertEqual(locf.map { $0["price"] }, [500, 500, 515, 515, 515, 485])
        let value = try run(#"[{"$fill": {"output": {"price": {"value": 0}, "note": {"value": {"$concat": ["n", "/a"]}}}}}]"#, prices)
        XCTAssertEqual(value.map { $0["price"] }, [500, 0, 515, 0, 0, 485])
        XCTAssertEqual(value[0]["note"], "n/a")
        let parts = try run(#"[{"$fill": {"sortBy": {"_id": 1}, "partitionByFields": ["part"], "output": {"linear": {"method": "linear"}, "other": {"method": "locf"}}}}]"#, docs(#"""
        [{"_id": 1, "linear": 1, "other": 1, "part": 1}, {"_id": 2, "linear": 1, "other": 1, "part": 2}, {"_id": 3, "linear": null, "other": null, "part": 1},
         {"_id": 4, "linear": null, "other": null, "part": 2}, {"_id": 5, "linear": 5, "other": 10, "part": 1}, {"_id": 6, "linear": 6, "other": 2, "part": 2},
         {"_id": 7, "linear": null, "other": null, "part": 1}, {"_id": 8, "linear": 3, "other": 5, "part": 2}, {"_id": 9, "linear": 7, "other": 15, "part": 1},
         {"_id": 10, "linear": null, "other": null, "part": 2}]
        """#))
        XCTAssertEqual(parts.map { $0["_id"] }, [1, 3, 5, 7, 9, 2, 4, 6, 8, 10])
        XCTAssertEqual(parts.map { $0["linear"] }, [1, 3.0, 5, 6.0, 7, 1, 3.5, 6, 3, .null])
        XCTAssertEqual(parts.map { $0["other"] }, [1, 1, 10, 10, 15, 1, 1, 2, 5, 5])
        XCTAssertThrowsError(try run(#"[{"$fill": {"output": {"a": {"method": "linear", "value": 1}}}}]"#, [])) {
            XCTAssertTrue("\($0)".contains("not both"))
        }
        XCTAssertThrowsError(try run(#"[{"$fill": {"partitionBy": "$a", "partitionByFields": ["a"], "output": {"a": {"value": 1}}}}]"#, []))
        let p = try Pipeline.parse(J(#"[{"$fill": {"sortBy": {"t": 1}, "partitionBy": {"p": "$p"}, "output": {"a": {"method": "locf"}, "b": {"value": [1]}}}}]"#).arrayValue ?? [])
        XCTAssertEqual(try Pipeline.parse(p.bson), p)
    }
}
