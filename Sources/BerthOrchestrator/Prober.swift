import BerthAPI
import BerthRuntime
import Foundation

/// Runs one probe attempt of any kind: httpGet and tcpSocket through the
/// `ProbeTransport` to the pod's address, exec through `NodeRuntime.exec`
/// (exit status 0 is success). Named ports resolve against the container's
/// `ports`.
struct Prober: Sendable {
    let runtime: any NodeRuntime
    let transport: any ProbeTransport

    func run(_ probe: Probe, container: Container, containerID: String, host: String) async -> ProbeOutcome {
        let timeout = TimeInterval(max(1, probe.timeoutSeconds ?? 1))
        if let action = probe.exec {
            do {
                let result = try await runtime.exec(containerID: containerID, command: action.command ?? [],
                                                    timeoutSeconds: Int(timeout))
                if result.exitCode == 0 { return .success }
                let output = (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
                return .failure("command \(action.command ?? []) exited with \(result.exitCode)\(output.isEmpty ? "" : ": \(output.prefix(200))")")
            } catch {
                return .failure("exec failed: \(error)")
            }
        }
        if let action = probe.httpGet {
            guard let port = resolvePort(action.port, container) else { return .failure("unknown port \(action.port)") }
            let headers = (action.httpHeaders ?? []).map { ($0.name, $0.value) }
            var path = action.path ?? "/"
            if !path.hasPrefix("/") { path = "/" + path }
            switch (action.scheme ?? "HTTP").uppercased() {
            case "HTTP":
                return await transport.httpGet(host: action.host ?? host, port: port, path: path, headers: headers, timeout: timeout)
            case "HTTPS":
                return await transport.httpsGet(host: action.host ?? host, port: port, path: path, headers: headers, timeout: timeout)
            default:
                return .failure("unsupported scheme \"\(action.scheme ?? "")\" (HTTP or HTTPS)")
            }
        }
        if let action = probe.tcpSocket {
            guard let port = resolvePort(action.port, container) else { return .failure("unknown port \(action.port)") }
            return await transport.tcpConnect(host: action.host ?? host, port: port, timeout: timeout)
        }
        return .failure("probe has no handler (httpGet, tcpSocket or exec)")
    }

    func resolvePort(_ port: IntOrString, _ container: Container) -> Int? {
        switch port {
        case .int(let value): return value
        case .string(let name):
            if let value = Int(name) { return value }
            return container.ports?.first { $0.name == name }?.containerPort
        }
    }
}
