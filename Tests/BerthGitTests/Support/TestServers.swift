import BerthTestSupport
import Foundation

/// A test-owned `sshd` on 127.0.0.1 with its own host key, user key and config.
///
/// Nothing of the machine's SSH setup is used or changed, except that sshd
/// insists on its privilege-separation directory `/run/sshd` existing.
struct SSHTestServer {
    let directory: TemporaryDirectory
    let port: Int
    let process: Daemon
    /// The user key sshd accepts (authorized_keys), and a second one it does not know.
    let userKey: String
    let strangerKey: String

    /// Starts a server, runs `body`, and stops the server and removes its files whatever happens.
    static func with(_ body: (SSHTestServer) async throws -> Void) async throws {
        let server = try await start()
        defer { server.stop() }
        try await body(server)
    }

    static func start() async throws -> SSHTestServer {
        let dir = try TemporaryDirectory("berth-sshd")
        do {
            for name in ["host_key", "user_key", "stranger_key"] {
                try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "berth-test-\(name)", "-f", dir.appending(name).path])
            }
            try FileManager.default.copyItem(at: dir.appending("user_key.pub"), to: dir.appending("authorized_keys"))
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let port = try E2ECluster.freePort()
            let config = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir.appending("host_key").path)
                PidFile none
                AuthorizedKeysFile \(dir.appending("authorized_keys").path)
                StrictModes no
                UsePAM no
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                LogLevel VERBOSE
                """
            try Data(config.utf8).write(to: dir.appending("sshd_config"))
            let log = dir.appending("sshd.log")
            let process = try Daemon.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", dir.appending("sshd_config").path], log: log)
            let server = SSHTestServer(
                directory: dir, port: port, process: process,
                userKey: dir.appending("user_key").path, strangerKey: dir.appending("stranger_key").path)
            do {
                try await waitUntilListening(port, process: process, log: log)
            } catch {
                server.stop()
                throw error
            }
            return server
        } catch {
            dir.remove()
            throw error
        }
    }

    /// The server's host key as a known_hosts line.
    func knownHostsLine() throws -> String {
        let pub = try String(contentsOf: directory.appending("host_key.pub"), encoding: .utf8).split(separator: " ")
        return "[127.0.0.1]:\(port) \(pub[0]) \(pub[1])\n"
    }

    var log: String { (try? String(contentsOf: directory.appending("sshd.log"), encoding: .utf8)) ?? "" }

    func stop() {
        process.stop()
        directory.remove()
    }
}

/// `git http-backend` behind lighttpd with HTTP basic authentication on 127.0.0.1.
///
/// lighttpd rather than a Python CGI server: it is the setup git's own
/// documentation gives for http-backend, its mod_auth does real basic auth,
/// and Python's CGIHTTPRequestHandler is deprecated (gone in 3.13) and does
/// not handle the chunked request bodies git clients may send.
struct HTTPGitTestServer {
    static let user = "bob"
    static let password = "correct horse battery"

    let directory: TemporaryDirectory
    let port: Int
    let process: Daemon
    let tls: Bool

    /// Root under which repositories are served as http(s)://127.0.0.1:PORT/git/<name>.
    var repositories: URL { directory.appending("repos") }

    /// With `tls`: the PEM file of the test CA that signed the server's certificate.
    var caFile: String { directory.appending("ca.crt").path }

    /// TLS uses the name `localhost`: libgit2 1.5 rejected a certificate for IP:127.0.0.1 here (CN mismatch).
    func url(_ name: String) -> String { "\(tls ? "https://localhost" : "http://127.0.0.1"):\(port)/git/\(name)" }

    static func with(tls: Bool = false, _ body: (HTTPGitTestServer) async throws -> Void) async throws {
        let server = try await start(tls: tls)
        defer { server.stop() }
        try await body(server)
    }

    /// A throw-away CA and a certificate for localhost signed by it (EC keys: quick to make).
    static func makeCertificates(in dir: TemporaryDirectory) throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run("/usr/bin/openssl", ["req", "-x509"] + ec + ["-keyout", dir.appending("ca.key").path, "-out", dir.appending("ca.crt").path, "-days", "2", "-subj", "/CN=berth test CA"])
        try run("/usr/bin/openssl", ["req"] + ec + ["-keyout", dir.appending("server.key").path, "-out", dir.appending("server.csr").path, "-subj", "/CN=localhost"])
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8).write(to: dir.appending("san.ext"))
        try run("/usr/bin/openssl", [
            "x509", "-req", "-in", dir.appending("server.csr").path, "-CA", dir.appending("ca.crt").path,
            "-CAkey", dir.appending("ca.key").path, "-CAcreateserial", "-out", dir.appending("server.crt").path,
            "-days", "2", "-extfile", dir.appending("san.ext").path,
        ])
    }

    static func start(tls: Bool = false) async throws -> HTTPGitTestServer {
        let dir = try TemporaryDirectory("berth-httpd")
        do {
            if tls { try makeCertificates(in: dir) }
            let tlsConfig = !tls ? "" : """
                server.modules += ( "mod_openssl" )
                ssl.engine = "enable"
                ssl.pemfile = "\(dir.appending("server.crt").path)"
                ssl.privkey = "\(dir.appending("server.key").path)"
                """
            try FileManager.default.createDirectory(at: dir.appending("repos"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: dir.appending("www"), withIntermediateDirectories: true)
            try Data("\(user):\(password)\n".utf8).write(to: dir.appending("users"))
            let port = try E2ECluster.freePort()
            let config = """
                server.document-root = "\(dir.appending("www").path)"
                server.bind = "127.0.0.1"
                server.port = \(port)
                server.errorlog = "\(dir.appending("error.log").path)"
                server.modules = ( "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi" )
                alias.url = ( "/git" => "/usr/lib/git-core/git-http-backend" )
                $HTTP["url"] =~ "^/git" {
                    cgi.assign = ( "" => "" )
                    setenv.add-environment = (
                        "GIT_PROJECT_ROOT" => "\(dir.appending("repos").path)",
                        "GIT_HTTP_EXPORT_ALL" => ""
                    )
                }
                auth.backend = "plain"
                auth.backend.plain.userfile = "\(dir.appending("users").path)"
                auth.require = ( "/git" => ( "method" => "basic", "realm" => "berth-test", "require" => "valid-user" ) )
                \(tlsConfig)
                """
            try Data(config.utf8).write(to: dir.appending("lighttpd.conf"))
            let log = dir.appending("stderr.log")
            let process = try Daemon.spawn("/usr/sbin/lighttpd", ["-D", "-f", dir.appending("lighttpd.conf").path], log: log)
            let server = HTTPGitTestServer(directory: dir, port: port, process: process, tls: tls)
            do {
                try await waitUntilListening(port, process: process, log: log)
            } catch {
                server.stop()
                throw error
            }
            return server
        } catch {
            dir.remove()
            throw error
        }
    }

    var log: String {
        ((try? String(contentsOf: directory.appending("error.log"), encoding: .utf8)) ?? "")
            + ((try? String(contentsOf: directory.appending("stderr.log"), encoding: .utf8)) ?? "")
    }

    func stop() {
        process.stop()
        directory.remove()
    }
}
