import Foundation
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// TLS with client certificates, against the embedded server started with a CA made at
/// test time (openssl): the flags work, and each way of getting it wrong says its cause.
final class TLSCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    /// A CA, a server certificate for 127.0.0.1 signed by it, a client certificate (with
    /// its key, one PEM), and a second CA that signed nothing the server presents.
    func makeCertificates(in dir: URL) throws {
        let script = """
            set -e
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=strata-test-ca
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=strata-other-ca
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=strata-client
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.crt -days 2
            cat client.crt client.key > client.pem
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestSupportError("openssl could not make the test certificates (is openssl installed? make deps installs it)") }
    }

    func testTLSWithClientCertificates() throws {
        let work = try TempFolder()
        try makeCertificates(in: work.url)
        let pem = { (name: String) in work.url.appendingPathComponent(name).path }
        let server = try PrivateServer(arguments: ["--tls-cert-file", pem("server.pem"), "--tls-key-file", pem("server.key"),
                                                   "--tls-ca-file", pem("ca.pem"), "--tls-require-client-cert"])
        let uri = "mongodb://127.0.0.1:\(server.port)/?directConnection=true"
        let tls = ["--tls-ca-file", pem("ca.pem"), "--tls-certificate-key-file", pem("client.pem")]
        let dir = try Datasets.generate("events", count: 300)
        let schemas = ["--schemas", Self.root.appendingPathComponent("schemas").path]
        for (collection, file) in [("events", "events.mixed.jsonl"), ("events_truth", "events.truth.jsonl")] {
            let r = try StrataRunner.run(["import", "-c", collection, dir.appendingPathComponent(file).path, "--uri", uri, "--db", "tls"] + tls)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json").path
        let ok = try StrataRunner.run(["verify", query, "--against", "{collection}_truth", "--uri", uri, "--db", "tls"] + tls + schemas)
        XCTAssertEqual(ok.status, 0, ok.stderr + ok.stdout)
        XCTAssert(ok.stdout.contains("agree"), ok.stdout)

        // No client certificate: the server ends the handshake.
        let noClient = try StrataRunner.run(["run", query, "--uri", uri, "--db", "tls", "--tls-ca-file", pem("ca.pem")] + schemas)
        XCTAssertEqual(noClient.status, 1, noClient.stderr)
        XCTAssert(noClient.stderr.contains("client certificate"), noClient.stderr)

        // A CA that did not sign the server's certificate.
        let untrusted = try StrataRunner.run(["run", query, "--uri", uri, "--db", "tls", "--tls-ca-file", pem("other-ca.pem"),
                                              "--tls-certificate-key-file", pem("client.pem")] + schemas)
        XCTAssertEqual(untrusted.status, 1, untrusted.stderr)
        XCTAssert(untrusted.stderr.contains("certificate verify failed"), untrusted.stderr)
        XCTAssert(untrusted.stderr.contains("not signed by an authority strata trusts"), untrusted.stderr)

        // No TLS at all.
        let plain = try StrataRunner.run(["run", query, "--uri", uri, "--db", "tls"] + schemas)
        XCTAssertEqual(plain.status, 1, plain.stderr)
        XCTAssert(plain.stderr.contains("if it requires TLS"), plain.stderr)

        // A file that is not there: refused before connecting.
        let missing = try StrataRunner.run(["run", query, "--uri", uri, "--tls-ca-file", pem("nope.pem")] + schemas)
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssert(missing.stderr.contains("nope.pem: no such readable file"), missing.stderr)
    }
}
