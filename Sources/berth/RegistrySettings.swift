import BerthAPI
import BerthReconciler
import BerthRuntime
import Foundation

/// The registry settings `berth serve` pulls with: `<dataDir>/registries.json`
/// when present (the format of `berth image pull --registry-config`: mirrors,
/// insecure, auths, dockerConfig), then the `registries:` entries of
/// berth.yaml on top, then Docker's config.json for hosts that still have no
/// credential (`dockerConfig`, else `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`).
///
/// Passwords are read from their file or environment variable here, once, at
/// startup: a missing file stops `serve` with the entry named rather than
/// failing every pull later. Errors and logs name where a secret comes
/// from, never its value (`RegistryCredential` redacts itself).
enum RegistrySettings {
    static func load(dataDirectory: String, registries: [RegistryConfig] = []) throws -> RegistryConfiguration {
        var configuration = try loadFile(dataDirectory + "/registries.json")
        try merge(registries, into: &configuration)
        return configuration
    }

    static func loadFile(_ path: String) throws -> RegistryConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { return RegistryConfiguration() }
        do {
            return try JSONDecoder().decode(RegistryConfiguration.self, from: data)
        } catch {
            throw BerthError(.invalidArgument, "cannot read \(path)", hint: "fix or remove the file (keys: mirrors, insecure, auths, dockerConfig)")
        }
    }

    /// berth.yaml's entries, each winning over the file for its host.
    static func merge(_ registries: [RegistryConfig], into configuration: inout RegistryConfiguration) throws {
        for entry in registries {
            var credential: RegistryCredential?
            switch (entry.username, entry.password) {
            case (let username?, let password?):
                let secret: String
                do {
                    secret = try password.read()
                } catch {
                    throw BerthError(.invalidArgument, "registry \(entry.host): cannot read the password (\(password)): \(error.message)",
                                     hint: error.hint ?? "fix registries in the config file")
                }
                credential = RegistryCredential(username: username, password: secret)
            case (nil, nil):
                break
            case (nil, let password?):
                throw BerthError(.invalidArgument, "registry \(entry.host) has a password (\(password)) but no username",
                                 hint: "add username: to the registry entry")
            case (let username?, nil):
                throw BerthError(.invalidArgument, "registry \(entry.host) has username \(username) but no passwordFile or passwordEnv",
                                 hint: "add passwordFile: /path or passwordEnv: VAR to the registry entry")
            }
            try configuration.add(host: entry.host, mirrors: entry.mirrors, insecure: entry.insecure, credential: credential)
        }
    }
}
