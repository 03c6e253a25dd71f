import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class StageTests: XCTestCase {
    func run(_ pipeline: String, _ docs: [Document], context: ExecutionContext = ExecutionContext()) throws -> [Document] {
        try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? []), context: context).run(docs)
    }
    func canon(_ ds: [Document]) -> [String] { ds.map { ExtendedJSON.string($0, mode: .relaxed) } }

    func testParseErrorsNameTheStage() {
        func expect(_ p: String, _ kind: StrataError.Kind, _ path: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try Pipeline.parse(J(p).arrayValue ?? [], at: Location(file: "q.json", path: "pipeline")), line: line) { e in
                guard let e = e as? StrataError else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(e.kind, kind, "\(e)", line: line)
                XCTAssertEqual(e.location?.path, path, "\(e)", line: line)
                XCTAssertTrue(e.message.contains(fragment), e.message, line: line)
            }
        }
        expect(#"[{"$match": {}}, {"$foo": 1}]"#, .badInput, "pipeline[1].$foo", "Unrecognized pipeline stage name")
        expect(#"[{"$out": "x"}]"#, .unsupported, "pipeline[0].$out", "not supported")
        expect(#"[{"$merge": {"into": "x"}}]"#, .unsupported, "pipeline[0].$merge", "not supported")
        expect(#"[{"$geoNear": {}}]"#, .unsupported, "pipeline[0].$geoNear", "not supported")
        expect(#"[{"$setWindowFields": {}}]"#, .badInput, "pipeline[0].$setWindowFields", "output")
        expect(#"[{"$setWindowFields": {"sortBy": {"a": 1}, "output": {"d": {"$minMaxScaler": {"input": "$a"}}}}}]"#, .unsupported, "pipeline[0].$setWindowFields.output.d.$minMaxScaler", "not supported")
        expect(#"[{"$setWindowFields": {"output": {"r": {"$rank": {}}}}}]"#, .badInput, "pipeline[0].$setWindowFields.output.r.$rank", "sortBy")
        expect(#"[{"$group": {"_id": null, "total": {"$sum": {"$bad": 1}}}}]"#, .badInput, "pipeline[0].$group.total.$sum.$bad", "unknown expression operator")
        expect(#"[{"$group": {"_id": null, "total": {"$summ": 1}}}]"#, .badInput, "pipeline[0].$group.total.$summ", "unknown group operator")
        expect(#"[{"$group": {"total": {"$sum": 1}}}]"#, .badInput, "pipeline[0].$group", "must include an _id")
        expect(#"[{"$group": {"_id": {"a": 1}}}]"#, .badInput, "pipeline[0].$group._id.a", "inclusion-style")
        expect(#"[{"$limit": 0}]"#, .badInput, "pipeline[0].$limit", "positive")
        expect(#"[{"$skip": -1}]"#, .badInput, "pipeline[0].$skip", "non-negative")
        expect(#"[{"$sort": {"a": 2}}]"#, .badInput, "pipeline[0].$sort.a", "1 (for ascending)")
        expect(#"[{"$unwind": "a"}]"#, .badInput, "pipeline[0].$unwind", "prefixed with a '$'")
        expect(#"[{"$count": "a.b"}]"#, .badInput, "pipeline[0].$count", "cannot contain '.'")
        expect(#"[{"$bucket": {"groupBy": "$a", "boundaries": [5, 1]}}]"#, .badInput, "pipeline[0].$bucket.boundaries", "ascending")
        expect(#"[{"$bucketAuto": {"groupBy": "$a", "buckets": 2, "granularity": "R6"}}]"#, .badInput, "pipeline[0].$bucketAuto.granularity", "Unknown rounding granularity")
        expect(#"[{"$facet": {"a": [{"$facet": {"b": [{"$limit": 1}]}}]}}]"#, .badInput, "pipeline[0].$facet.a[0].$facet", "not allowed")
        expect(#"[{"$match": {"a": {"$in": 5}}}]"#, .badInput, "pipeline[0].$match.a.$in", "needs an array")
        expect(#"[{"$lookup": {"from": "x", "localField": "a", "as": "y"}}]"#, .badInput, "pipeline[0].$lookup", "both or neither")
    }

    func testRoundTripOfEveryStageKind() throws {
        let text = #"[{"$match": {"a": {"$gt": 1}}}, {"$project": {"a": 1, "b": {"$add": ["$a", 1]}}}, {"$addFields": {"c": 1}}, {"$set": {"d": "$c"}}, {"$unset": ["c", "d"]}, {"$replaceWith": {"x": "$a"}}, {"$replaceRoot": {"newRoot": "$$ROOT"}}, {"$unwind": {"path": "$x", "includeArrayIndex": "i", "preserveNullAndEmptyArrays": true}}, {"$unwind": "$y"}, {"$group": {"_id": {"k": "$k", "j": "$j"}, "s": {"$sum": "$v"}, "t": {"$topN": {"n": 2, "sortBy": {"v": -1}, "output": "$w"}}, "c": {"$count": {}}}}, {"$sort": {"s": -1, "_id": 1}}, {"$skip": 1}, {"$limit": 5}, {"$count": "n"}, {"$sortByCount": "$n"}, {"$bucket": {"groupBy": "$a", "boundaries": [0, 5, 10], "default": "x", "output": {"n": {"$sum": 1}}}}, {"$bucketAuto": {"groupBy": "$a", "buckets": 3}}, {"$facet": {"f": [{"$limit": 1}]}}, {"$lookup": {"from": "c", "localField": "a", "foreignField": "b", "let": {"v": "$a"}, "pipeline": [{"$match": {"$expr": {"$eq": ["$$v", 1]}}}], "as": "r"}}, {"$unionWith": {"coll": "u", "pipeline": [{"$limit": 2}]}}, {"$redact": "$$KEEP"}]"#
        let p = try Pipeline.parse(J(text).arrayValue!)
        XCTAssertEqual(p.stages.count, 21)
        XCTAssertEqual(try Pipeline.parse(p.bson), p)
        XCTAssertEqual(p.stages.map(\.name).prefix(5), ["$match", "$project", "$addFields", "$set", "$unset"])
        XCTAssertTrue(p.stages[9].isBlocking)
    }

    func testGroupIdRules() throws {
        let docs: [Document] = [["_id": 1, "a": 1], ["_id": 2, "a": .null], ["_id": 3], ["_id": 4, "a": 1.0], ["_id": 5, "a": .int64(1)]]
        let single = try run(#"[{"$group": {"_id": "$a", "n": {"$sum": 1}}}]"#, docs)
        XCTAssertEqual(canon(single), [#"{ "_id" : 1, "n" : 3 }"#, #"{ "_id" : null, "n" : 2 }"#])
        let oneField = try run(#"[{"$group": {"_id": {"t": "$a"}, "n": {"$sum": 1}}}]"#, docs)
        XCTAssertEqual(canon(oneField), [#"{ "_id" : { "t" : 1 }, "n" : 3 }"#, #"{ "_id" : { "t" : null }, "n" : 2 }"#])
        let twoFields = try run(#"[{"$group": {"_id": {"t": "$a", "u": "$u"}, "n": {"$sum": 1}}}]"#, docs)
        XCTAssertEqual(canon(twoFields), [#"{ "_id" : { "t" : 1 }, "n" : 3 }"#, #"{ "_id" : { "t" : null }, "n" : 1 }"#, #"{ "_id" : {  }, "n" : 1 }"#])
        let missingAcc = try run(#"[{"$group": {"_id": null, "f": {"$first": "$zz"}}}]"#, docs)
        XCTAssertEqual(canon(missingAcc), [#"{ "_id" : null, "f" : null }"#])
    }

    func testUnwind() throws {
        let docs: [Document] = [["_id": 1, "a": [1, 2]], ["_id": 2, "a": []], ["_id": 3, "a": .null], ["_id": 4], ["_id": 5, "a": 7], ["_id": 6, "o": ["a": [3]]]]
        XCTAssertEqual(canon(try run(#"[{"$unwind": "$a"}]"#, docs)),
                       [#"{ "_id" : 1, "a" : 1 }"#, #"{ "_id" : 1, "a" : 2 }"#, #"{ "_id" : 5, "a" : 7 }"#])
        let full = try run(#"[{"$unwind": {"path": "$a", "includeArrayIndex": "i", "preserveNullAndEmptyArrays": true}}]"#, docs)
        XCTAssertEqual(full.map { $0["i"] }, [.int64(0), .int64(1), .null, .null, .null, .null, .null])
        XCTAssertNil(full[2]["a"])  // an empty array is removed
        XCTAssertEqual(full[3]["a"], .null)
        XCTAssertEqual(canon(try run(#"[{"$unwind": "$o.a"}]"#, docs)), [#"{ "_id" : 6, "o" : { "a" : 3 } }"#])
    }

    func testCountOfNothingIsNothing() throws {
        // mongod returns no document; SecantusDB returns {n: 0}
        XCTAssertEqual(try run(#"[{"$count": "n"}]"#, []), [])
        XCTAssertEqual(try run(#"[{"$count": "n"}]"#, [[:], [:]]), [["n": 2]])
    }

    func testBucketAutoFollowsMongod() throws {
        // values 1,1,1,2,3,3,4,5,6,9: 10 documents, 3 buckets -> about 3 per bucket,
        // equal values absorbed, last bucket takes the rest, max = next bucket's min.
        let values = [1, 1, 1, 2, 3, 3, 4, 5, 6, 9]
        let docs = values.enumerated().map { Document([("_id", .int32(Int32($0.offset))), ("v", .int32(Int32($0.element)))]) }
        let out = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "output": {"n": {"$sum": 1}, "first": {"$first": "$_id"}}}}]"#, docs.reversed())
        XCTAssertEqual(canon(out), [
            #"{ "_id" : { "min" : 1, "max" : 2 }, "n" : 3, "first" : 2 }"#,
            #"{ "_id" : { "min" : 2, "max" : 4 }, "n" : 3, "first" : 5 }"#,
            #"{ "_id" : { "min" : 4, "max" : 9 }, "n" : 4, "first" : 9 }"#,
        ])
        // more buckets than documents: one per distinct value
        XCTAssertEqual(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 20}}]"#, Array(docs.prefix(4))).count, 2)
    }

    func testSortIsStableAndTopKMatchesFullSort() throws {
        var docs: [Document] = []
        for i in 0..<200 { docs.append(["_id": .int32(Int32(i)), "k": .int32(Int32((i * 7919) % 13)), "arr": [.int32(Int32(i % 5)), .int32(Int32(i % 3))]]) }
        let full = try run(#"[{"$sort": {"k": -1}}]"#, docs)
        for i in 1..<full.count where full[i - 1]["k"] == full[i]["k"] {
            XCTAssertLessThan(full[i - 1]["_id"]!.exactInt!, full[i]["_id"]!.exactInt!)
        }
        XCTAssertEqual(try run(#"[{"$sort": {"k": -1}}, {"$limit": 17}]"#, docs), Array(full.prefix(17)))
        XCTAssertEqual(try run(#"[{"$sort": {"k": -1}}, {"$skip": 5}, {"$limit": 9}]"#, docs), Array(full.dropFirst(5).prefix(9)))
        XCTAssertEqual(try run(#"[{"$sort": {"arr": 1, "_id": 1}}, {"$limit": 3}]"#, docs).map { $0["_id"] }, [0, 3, 5])  // min element 0
    }

    func testLimitStopsTheInput() throws {
        let p = PipelineExecutor(try Pipeline.parse([["$match": ["a": 1]], ["$limit": 2]]))
        var out: [Document] = []
        let s = try p.makeStream { out.append($0); return true }
        var pushed = 0
        for _ in 0..<100 {
            pushed += 1
            if try !s.push(["a": 1]) { break }
        }
        try s.finish()
        XCTAssertEqual(pushed, 2)
        XCTAssertEqual(out.count, 2)
    }

    func testEvaluationErrorsCarryTheStage() throws {
        XCTAssertThrowsError(try run(#"[{"$match": {}}, {"$project": {"x": {"$divide": [1, 0]}}}]"#, [[:]])) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .evaluation)
            XCTAssertEqual((e as? StrataError)?.location?.path, "pipeline[1]")
        }
        XCTAssertThrowsError(try run(#"[{"$replaceRoot": {"newRoot": "$nope"}}]"#, [[:]])) {
            XCTAssertTrue("\($0)".contains("'newRoot' expression must evaluate to an object"))
        }
        XCTAssertThrowsError(try run(#"[{"$bucket": {"groupBy": "$a", "boundaries": [0, 5]}}]"#, [["a": 9]])) {
            XCTAssertTrue("\($0)".contains("no default was specified"))
        }
    }

    func testLookupRequestShape() throws {
        final class Box: @unchecked Sendable { var requests: [LookupRequest] = [] }
        let box = Box()
        let ctx = ExecutionContext(variables: Variables(["outer": 1]), lookup: { req in box.requests.append(req); return [["_id": 9]] })
        let out = try run(#"[{"$lookup": {"from": "f", "localField": "a.b", "foreignField": "x", "let": {"v": "$c"}, "pipeline": [{"$limit": 1}], "as": "r.s"}}]"#,
                          [["a": [["b": 1], ["b": [2, 3]], 5], "c": "C"], ["a": []]], context: ctx)
        XCTAssertEqual(box.requests.count, 2)
        XCTAssertEqual(box.requests[0].from, "f")
        XCTAssertEqual(box.requests[0].pipeline.first, ["$match": ["x": ["$in": [1, 2, 3]]]])
        XCTAssertEqual(box.requests[0].pipeline.last, ["$limit": 1])
        XCTAssertEqual(box.requests[0].variables["v"], "C")
        XCTAssertEqual(box.requests[0].variables["outer"], 1)
        XCTAssertEqual(box.requests[1].pipeline.first, ["$match": ["x": ["$eq": .null]]])  // missing -> null
        XCTAssertEqual(out[0]["r"], ["s": [["_id": 9]]])
    }
    func testWindowSumNarrowsLikeMongod() throws {
        // mongod's removable $sum narrows a long total back to int when it fits
        // (SecantusDB keeps long); unbounded windows use the ordinary $sum rules.
        let docs: [Document] = [["_id": 1, "v": .int64(5)], ["_id": 2, "v": .int64(7)], ["_id": 3, "v": 1.5], ["_id": 4, "v": .int64(2)]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"s": {"$sum": "$v", "window": {"documents": [-1, 0]}}, "t": {"$sum": "$v"}}}}]"#, docs)
        XCTAssertEqual(out.map { $0["s"] }, [.int32(5), .int32(12), .double(8.5), .double(3.5)])
        XCTAssertEqual(out.map { $0["t"] }, Array(repeating: .double(15.5), count: 4))
        let ranks = try run(#"[{"$setWindowFields": {"sortBy": {"v": 1}, "output": {"r": {"$rank": {}}, "d": {"$denseRank": {}}}}}]"#,
                            [["v": 1], ["v": 1], ["v": 3], ["v": 4], ["v": 4]])
        XCTAssertEqual(ranks.map { $0["r"] }, [1, 1, 3, 4, 4])
        XCTAssertEqual(ranks.map { $0["d"] }, [1, 1, 2, 3, 3])
    }

    func testAccumulatorWindowFunctions() throws {
        let docs: [Document] = [["_id": 1, "k": 2, "t": ["a"], "o": ["x": 1]], ["_id": 2, "k": 2, "t": ["b", "a"], "o": ["y": 2]], ["_id": 3, "k": 1, "o": ["x": 3]]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"cat": {"$concatArrays": {"$ifNull": ["$t", []]}, "window": {"documents": [-1, 0]}}, "u": {"$setUnion": {"$ifNull": ["$t", []]}}, "m": {"$mergeObjects": "$o", "window": {"documents": ["unbounded", "current"]}}, "b": {"$bottom": {"sortBy": {"k": 1}, "output": "$_id"}, "window": {"documents": [-2, 0]}}, "bu": {"$bottom": {"sortBy": {"k": 1}, "output": "$_id"}}}}}]"#, docs)
        XCTAssertEqual(out.map { $0["cat"] }, [["a"], ["a", "b", "a"], ["b", "a"]])
        XCTAssertEqual(out.map { $0["m"] }, [["x": 1], ["x": 1, "y": 2], ["x": 3, "y": 2]])
        // mongod's removable $bottom keeps the last of tied keys; the accumulator the first
        XCTAssertEqual(out.map { $0["b"] }, [1, 2, 2])
        XCTAssertEqual(out.map { $0["bu"] }, [1, 1, 1])
        XCTAssertEqual(out[0]["u"]?.arrayValue?.count, 2)
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"u": {"$setUnion": "$t", "window": {"documents": [-1, 0]}}}}}]"#, docs)) {
            XCTAssertEqual(($0 as? StrataError)?.kind, .unsupported)
        }
        // output fields are added in field-name order, as mongod's std::map does
        let ordered = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"z": {"$sum": 1}, "a": {"$sum": 1}, "k": {"$max": "$k"}}}}]"#, [["_id": 1, "k": 5]])
        XCTAssertEqual(ordered[0].keys, ["_id", "k", "a", "z"])
    }

    func testDerivativeIntegralCovariance() throws {
        let docs: [Document] = [["x": 0, "y": 1], ["x": 1, "y": 3], ["x": 3, "y": 3], ["x": 4, "y": .double(.nan)]]
        let out = try run(#"[{"$match": {"y": {"$lt": 10}}}, {"$setWindowFields": {"sortBy": {"x": 1}, "output": {"d": {"$derivative": {"input": "$y"}, "window": {"documents": [-1, 0]}}, "i": {"$integral": {"input": "$y"}}, "run": {"$integral": {"input": "$y"}, "window": {"documents": ["unbounded", "current"]}}, "sl": {"$integral": {"input": "$y"}, "window": {"documents": [-1, 0]}}}}}]"#, docs)
        XCTAssertEqual(out.map { $0["d"] }, [.null, 2.0, 0.0])
        XCTAssertEqual(out.map { $0["i"] }, [8.0, 8.0, 8.0])  // (1+3)/2·1 + (3+3)/2·2
        XCTAssertEqual(out.map { $0["run"] }, [0, 2.0, 8.0])  // an empty sum is an int
        XCTAssertEqual(out.map { $0["sl"] }, [0, 2.0, 6.0])
        let nan = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"i": {"$integral": {"input": "$y"}}}}}]"#, docs)
        XCTAssertTrue(nan[0]["i"]?.doubleValue?.isNaN == true)
        let dates: [Document] = [["t": .date(0), "v": 0], ["t": .date(1_800_000), "v": 10]]
        let perHour = try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"d": {"$derivative": {"input": "$v", "unit": "hour"}, "window": {"documents": ["unbounded", "current"]}}, "i": {"$integral": {"input": "$v", "unit": "hour"}}}}}]"#, dates)
        XCTAssertEqual(perHour.map { $0["d"] }, [.null, 20.0])
        XCTAssertEqual(perHour[1]["i"], 2.5)
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"d": {"$derivative": {"input": "$v"}, "window": {"documents": [-1, 0]}}}}}]"#, dates)) {
            XCTAssertTrue("\($0)".contains("requires an 'unit'"))
        }
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"d": {"$derivative": {"input": "$v"}}}}}]"#, dates)) {
            XCTAssertTrue("\($0)".contains("explicit window bounds"))
        }
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"i": {"$integral": {"input": "$v", "unit": "month"}}}}}]"#, dates))
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"i": {"$integral": {"input": "$z"}}}}}]"#, [["x": 1]])) {
            XCTAssertTrue("\($0)".contains("vector of 2 value"))
        }
        let pts: [Document] = [["x": 1, "y": 2], ["x": 2, "y": 4], ["x": 3, "y": 6], ["x": "s", "y": 1]]
        let cov = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"p": {"$covariancePop": ["$x", "$y"]}, "s": {"$covarianceSamp": ["$x", "$y"]}, "w": {"$covarianceSamp": ["$x", "$y"], "window": {"documents": [-1, 0]}}}}}]"#, pts)
        XCTAssertEqual(cov.map { $0["p"] }, Array(repeating: .double(4.0 / 3.0), count: 4))
        XCTAssertEqual(cov.map { $0["s"] }, Array(repeating: 2.0, count: 4))
        XCTAssertEqual(cov.map { $0["w"] }, [.null, 1.0, 1.0, .null])  // a string pair is ignored
    }

    func testGraphLookupRequests() throws {
        final class Box: @unchecked Sendable { var requests: [LookupRequest] = [] }
        let box = Box()
        let people: [Document] = [["_id": 1, "name": "A", "boss": .null], ["_id": 2, "name": "B", "boss": "A"], ["_id": 3, "name": .null]]
        let ctx = ExecutionContext(lookup: { req in
            box.requests.append(req)
            return try PipelineExecutor(try Pipeline.parse(req.pipeline)).run(people)
        })
        let out = try run(#"[{"$graphLookup": {"from": "p", "startWith": "$boss", "connectFromField": "boss", "connectToField": "name", "as": "up", "depthField": "d"}}]"#,
                          [["_id": 10, "boss": "B"], ["_id": 11], ["_id": 12, "boss": .null]], context: ctx)
        XCTAssertEqual(out[0]["up"], [["_id": 2, "name": "B", "boss": "A", "d": .int64(0)], ["_id": 1, "name": "A", "boss": .null, "d": .int64(1)], ["_id": 3, "name": .null, "d": .int64(2)]])
        XCTAssertEqual(out[1]["up"], [])  // a missing startWith looks for nothing
        XCTAssertEqual(out[2]["up"], [["_id": 3, "name": .null, "d": .int64(0)]])  // null finds null, not missing
        // Each level: the `$in` on the frontier (the request's equality, which a batched caller
        // widens), then mongod's other conditions of its `$and`.
        XCTAssertEqual(box.requests[0].pipeline, [["$match": ["name": ["$in": ["B"]]]]])
        XCTAssertEqual(box.requests[0].equality, ["name": ["$in": ["B"]]])
        XCTAssertEqual(box.requests[2].pipeline, [["$match": ["name": ["$in": [.null]]]],
                                                  ["$match": ["$and": [["name": ["$exists": true]], ["name": ["$not": ["$type": "undefined"]]]]]]])
        let restricted = try run(#"[{"$graphLookup": {"from": "p", "startWith": "$boss", "connectFromField": "boss", "connectToField": "name", "as": "up", "restrictSearchWithMatch": {"_id": {"$ne": 1}}}}]"#,
                                 [["_id": 10, "boss": "B"]], context: ctx)
        XCTAssertEqual(restricted[0]["up"], [["_id": 2, "name": "B", "boss": "A"]])
        XCTAssertEqual(box.requests.last?.pipeline, [["$match": ["name": ["$in": ["A"]]]], ["$match": ["_id": ["$ne": 1]]]])
        XCTAssertThrowsError(try run(#"[{"$graphLookup": {"from": "p", "startWith": 1, "connectFromField": "a", "connectToField": "b", "as": "c", "maxDepth": -1}}]"#, [])) {
            XCTAssertEqual(($0 as? StrataError)?.location?.path, "pipeline[0].$graphLookup.maxDepth")
        }
        XCTAssertThrowsError(try run(#"[{"$graphLookup": {"from": "p", "startWith": 1, "connectFromField": "a", "as": "c"}}]"#, []))
    }

    func testRangeWindowsFollowMongodsPartitionIterator() throws {
        // 'current' is the current document itself (ties excluded), numeric bounds are values
        let docs: [Document] = [["x": 1], ["x": 1], ["x": 2], ["x": 4]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": ["unbounded", "current"]}}, "m": {"$sum": 1, "window": {"range": ["current", 1]}}, "k": {"$push": "$x", "window": {"range": [-1, 0]}}, "e": {"$sum": 1, "window": {"range": [-10, -5]}}}}}]"#, docs)
        XCTAssertEqual(out.map { $0["n"] }, [1, 2, 3, 4])
        XCTAssertEqual(out.map { $0["m"] }, [3, 2, 1, 1])
        XCTAssertEqual(out.map { $0["k"] }, [[1, 1], [1, 1], [1, 1, 2], [4]])
        XCTAssertEqual(out.map { $0["e"] }, [0, 0, 0, 0])
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"x": -1}, "output": {"n": {"$sum": 1, "window": {"range": [-1, 0]}}}}}]"#, docs)) {
            XCTAssertTrue("\($0)".contains("ascending sortBy"))
        }
        // mongod adds the bounds in decimal128 (doubles rounded to 15 digits) and compares
        // exactly: 0.1 + 0.2 is 0.3, below the double 0.30000000000000004
        let near: [Document] = [["x": 0.1], ["x": 0.30000000000000004], ["x": 1.0]]
        let exact = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": [0, 0.2]}}}}}]"#, near)
        XCTAssertEqual(exact.map { $0["n"] }, [1, 1, 1])
        // ... so a document can fall out of its own [0, 0] window: the double 0.1 is above the
        // decimal 0.1, the double 0.3 below the decimal 0.3; 0.5 and 7 are exact
        let own = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": [0, 0]}}}}}]"#, [["x": 0.3], ["x": 0.1], ["x": .int64(7)], ["x": 0.5]])
        XCTAssertEqual(own.map { $0["n"] }, [0, 0, 1, 1])
        let far = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": [0, 0.5]}}}}}]"#, near)
        XCTAssertEqual(far.map { $0["n"] }, [2, 1, 1])
    }

    func testBucketAutoGranularity() throws {
        let docs: [Document] = [0, 1, 2, 3, 5, 7, 9, 12, 20, 33].map { ["v": .int32(Int32($0))] }
        let p2 = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "POWERSOF2"}}]"#, docs)
        // roundDown(0) keeps the value; powers of two come from $pow(2, int): ints
        XCTAssertEqual(p2.map { $0["_id"] }, [["min": 0, "max": 4], ["min": 4, "max": 16], ["min": 16, "max": 64]])
        XCTAssertEqual(p2.map { $0["count"] }, [4, 4, 2])
        let r5 = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}]"#, Array(docs.dropFirst()))
        XCTAssertEqual(r5.map { $0["_id"] }, [["min": 0.63, "max": 10.0], ["min": 10.0, "max": 40.0]])
        XCTAssertThrowsError(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}]"#, [["v": -1]])) {
            XCTAssertTrue("\($0)".contains("non-negative"))
        }
        XCTAssertThrowsError(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R7"}}]"#, [])) {
            XCTAssertEqual(($0 as? StrataError)?.kind, .badInput)
        }
    }
}
