import BerthAPI
import Foundation

/// Credentials per registry host, from the configuration's `auths` and a
/// Docker-style config.json (`{"auths": {"host": {"auth": base64(user:pass)}}}`
/// or `username`/`password`). Keys may be written as Docker writes them
/// (`https://index.docker.io/v1/`, `http://host:5000`): only the host counts.
/// Credential helpers (`credsStore`, `credHelpers`) are not supported.
public struct RegistryCredentialStore: Sendable {
    private var entries: [String: RegistryCredential] = [:]

    public init(configuration: RegistryConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let path = Self.dockerConfigPath(configuration: configuration, environment: environment),
           FileManager.default.fileExists(atPath: path) {
            entries = try Self.parseDockerConfig(path: path)
        }
        for (key, credential) in configuration.auths {
            entries[RegistryConfiguration.canonicalRegistry(key)] = credential
        }
    }

    init(entries: [String: RegistryCredential]) {
        self.entries = Dictionary(entries.map { (RegistryConfiguration.canonicalRegistry($0.key), $0.value) }, uniquingKeysWith: { $1 })
    }

    /// The credential for a registry or mirror host (`host[:port]`).
    public func credential(for host: String) -> RegistryCredential? {
        entries[RegistryConfiguration.canonicalRegistry(host)]
    }

    static func dockerConfigPath(configuration: RegistryConfiguration, environment: [String: String]) -> String? {
        if let path = configuration.dockerConfig { return path.isEmpty ? nil : path }
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.docker/config.json"
    }

    private struct DockerConfigFile: Decodable {
        struct Entry: Decodable {
            var auth: String?
            var username: String?
            var password: String?
        }
        var auths: [String: Entry]?
    }

    /// Parses config.json. Errors name the file and the entry, never a secret.
    static func parseDockerConfig(path: String) throws -> [String: RegistryCredential] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BerthError(.invalidArgument, "cannot read the Docker config \(path)", hint: "check its permissions")
        }
        return try parseDockerConfig(data: data, label: path)
    }

    static func parseDockerConfig(data: Data, label: String) throws -> [String: RegistryCredential] {
        let file: DockerConfigFile
        do {
            file = try JSONDecoder().decode(DockerConfigFile.self, from: data)
        } catch {
            throw BerthError(.invalidArgument, "\(label) is not a valid Docker config.json", hint: "it must be JSON with an \"auths\" object")
        }
        var result: [String: RegistryCredential] = [:]
        for (key, entry) in file.auths ?? [:] {
            if let encoded = entry.auth, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).flatMap({ String(data: $0, encoding: .utf8) }),
                      let colon = decoded.firstIndex(of: ":") else {
                    throw BerthError(.invalidArgument, "\(label): auths[\"\(key)\"].auth is not base64 of user:password")
                }
                result[RegistryConfiguration.canonicalRegistry(key)] = RegistryCredential(
                    username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            } else if let username = entry.username, let password = entry.password {
                result[RegistryConfiguration.canonicalRegistry(key)] = RegistryCredential(username: username, password: password)
            }
        }
        return result
    }
}
