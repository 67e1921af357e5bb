import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of one probe attempt.
public enum ProbeOutcome: Sendable, Equatable {
    case success
    case failure(String)

    public var succeeded: Bool { self == .success }
}

/// How probes reach a container over the network. The seam exists so that
/// kubelet logic can be tested with scripted outcomes; `SocketProbeTransport`
/// makes real TCP connections and real HTTP/1.1 requests.
public protocol ProbeTransport: Sendable {
    /// GET `path`; 200–399 is success, as Kubernetes' prober.
    func httpGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome
    /// Success when a TCP connection is established within `timeout`.
    func tcpConnect(host: String, port: Int, timeout: TimeInterval) async -> ProbeOutcome
    /// GET over TLS (httpGet with `scheme: HTTPS`). As Kubernetes' prober,
    /// the server's certificate is not verified: a probe asks "does it
    /// answer", and pods mostly serve self-signed or cluster-CA certificates.
    func httpsGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome
}

extension ProbeTransport {
    /// Transports without TLS (scripted test transports) fail HTTPS probes
    /// with a message that says so, rather than probing over plain HTTP.
    public func httpsGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome {
        .failure("Get \"https://\(host):\(port)\(path)\": this probe transport does not speak TLS")
    }
}

/// Real probes over POSIX sockets: a non-blocking connect bounded by poll,
/// then (for httpGet) one HTTP/1.1 request with `Connection: close`, reading
/// only the status line. Each attempt runs on a Dispatch thread so that its
/// blocking calls never stall Swift's cooperative pool.
public struct SocketProbeTransport: ProbeTransport {
    public init() {}

    public func httpGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome {
        await Self.offload {
            Self.blockingHTTPGet(host: host, port: port, path: path, headers: headers, timeout: timeout)
        }
    }

    public func tcpConnect(host: String, port: Int, timeout: TimeInterval) async -> ProbeOutcome {
        await Self.offload {
            let deadline = Date().addingTimeInterval(timeout)
            switch Self.connect(host: host, port: port, deadline: deadline) {
            case .success(let fd):
                close(fd)
                return .success
            case .failure(let message):
                return .failure(message)
            }
        }
    }

    private static func offload(_ work: @escaping @Sendable () -> ProbeOutcome) async -> ProbeOutcome {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    enum ConnectResult { case success(Int32), failure(String) }

    static func connect(host: String, port: Int, deadline: Date) -> ConnectResult {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            return .failure("dial tcp \(host):\(port): cannot resolve host")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return .failure("socket: \(String(cString: strerror(errno)))") }
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let message = String(cString: strerror(errno))
                close(fd)
                return .failure("dial tcp \(host):\(port): connect: \(message)")
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let waitMillis = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            let ready = poll(&pfd, 1, waitMillis)
            if ready <= 0 {
                close(fd)
                return .failure("dial tcp \(host):\(port): i/o timeout")
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                return .failure("dial tcp \(host):\(port): connect: \(String(cString: strerror(error)))")
            }
        }
        return .success(fd)
    }

    static func blockingHTTPGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) -> ProbeOutcome {
        let deadline = Date().addingTimeInterval(timeout)
        let fd: Int32
        switch connect(host: host, port: port, deadline: deadline) {
        case .success(let socket): fd = socket
        case .failure(let message): return .failure("Get \"http://\(host):\(port)\(path)\": \(message)")
        }
        defer { close(fd) }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = "GET \(path.isEmpty ? "/" : path) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        var hasUserAgent = false
        for (name, value) in headers {
            if name.lowercased() == "user-agent" { hasUserAgent = true }
            request += "\(name): \(value)\r\n"
        }
        if !hasUserAgent { request += "User-Agent: kube-probe/1.31\r\n" }
        request += "Accept: */*\r\nConnection: close\r\n\r\n"
        var bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) > 0 else {
                return .failure("Get \"http://\(hostHeader)\(path)\": context deadline exceeded")
            }
            let count = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return .failure("Get \"http://\(hostHeader)\(path)\": write: \(String(cString: strerror(errno)))") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !response.contains(UInt8(ascii: "\n")) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) > 0 else {
                return .failure("Get \"http://\(hostHeader)\(path)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        bytes = []
        let line = String(decoding: response.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            return .failure("Get \"http://\(hostHeader)\(path)\": malformed HTTP response \(line.debugDescription)")
        }
        if (200..<400).contains(code) { return .success }
        return .failure("HTTP probe failed with statuscode: \(code)")
    }
}
