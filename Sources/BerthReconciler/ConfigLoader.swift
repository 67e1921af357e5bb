import BerthAPI
import BerthGit
import Foundation
import Yams

/// Reads berth.yaml. Every error names the file and line of the offending
/// node, because a config that does not parse keeps `berth serve` from
/// starting and the user has to find the spot fast.
///
///     sources:
///       - name: app
///         url: https://git.example.com/app.git
///         ref: main                # branch, tag, commit or semver:^1.2
///         path: deploy
///         interval: 1m
///         prune: true
///         selfHeal: true
///         namespace: default
///         rolloutTimeout: 5m
///         failureThreshold: 3
///         auth: { tokenFile: /etc/berth/git-token }
///         webhook: { secretFile: /etc/berth/webhook-secret }
///     registries:
///       - host: docker.io
///         mirrors: [ "registry.local:5000" ]
///     history:
///       retention: 1000
public enum ConfigLoader {
    public static func load(path: String) throws -> BerthConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw BerthError(.notFound, "cannot read config file \(path)", hint: "check the path given to --config")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> BerthConfig {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw BerthError(.invalidArgument, "\(file) is not valid YAML: \(error)", location: yamlLocation(error, file: file))
        } catch {
            throw BerthError(.invalidArgument, "\(file) is not valid YAML: \(error)", location: SourceLocation(file: file, line: 1))
        }
        let reader = Reader(file: file)
        guard let root else { return BerthConfig() }
        let top = try reader.mapping(root, what: "the config file", allowed: ["sources", "registries", "history"])
        var config = BerthConfig()
        if let sources = top["sources"] {
            var names: Set<String> = []
            for node in try reader.sequence(sources, what: "sources") {
                let source = try reader.source(node)
                if !names.insert(source.name).inserted {
                    throw reader.error(node, "source \"\(source.name)\" is defined twice", hint: "source names must be unique")
                }
                config.sources.append(source)
            }
        }
        if let registries = top["registries"] {
            for node in try reader.sequence(registries, what: "registries") {
                config.registries.append(try reader.registry(node))
            }
        }
        if let history = top["history"] {
            let fields = try reader.mapping(history, what: "history", allowed: ["retention"])
            if let retention = fields["retention"] {
                config.historyRetention = try reader.int(retention, what: "history.retention", minimum: 1)
            }
        }
        return config
    }

    static func yamlLocation(_ error: YamlError, file: String) -> SourceLocation {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _):
            return SourceLocation(file: file, line: mark.line, column: mark.column)
        default:
            return SourceLocation(file: file, line: 1)
        }
    }

    /// Reads typed values out of Yams nodes, with file:line errors.
    struct Reader {
        let file: String

        func location(_ node: Yams.Node) -> SourceLocation {
            SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        }

        func error(_ node: Yams.Node, _ message: String, hint: String? = nil) -> BerthError {
            BerthError(.invalidArgument, message, hint: hint, location: location(node))
        }

        func mapping(_ node: Yams.Node, what: String, allowed: Set<String>) throws -> [String: Yams.Node] {
            guard case .mapping(let mapping) = node else {
                throw error(node, "\(what) must be a mapping")
            }
            var result: [String: Yams.Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw error(key, "keys of \(what) must be strings") }
                guard allowed.contains(name) else {
                    throw error(key, "unknown field \"\(name)\" in \(what)", hint: "known fields: \(allowed.sorted().joined(separator: ", "))")
                }
                if result[name] != nil { throw error(key, "\"\(name)\" appears twice in \(what)") }
                result[name] = value
            }
            return result
        }

        func sequence(_ node: Yams.Node, what: String) throws -> [Yams.Node] {
            guard case .sequence(let sequence) = node else { throw error(node, "\(what) must be a list") }
            return Array(sequence)
        }

        func string(_ node: Yams.Node, what: String) throws -> String {
            guard case .scalar(let scalar) = node else { throw error(node, "\(what) must be a string") }
            return scalar.string
        }

        func bool(_ node: Yams.Node, what: String) throws -> Bool {
            guard let value = node.bool else { throw error(node, "\(what) must be true or false") }
            return value
        }

        func int(_ node: Yams.Node, what: String, minimum: Int) throws -> Int {
            guard let value = node.int, value >= minimum else { throw error(node, "\(what) must be an integer ≥ \(minimum)") }
            return value
        }

        func duration(_ node: Yams.Node, what: String) throws -> Duration {
            guard let text = node.string, let value = DurationText.parse(text), value > .zero else {
                throw error(node, "\(what) must be a duration such as 30s, 1m or 1h30m")
            }
            return value
        }

        func secret(_ fields: [String: Yams.Node], file fileKey: String, env envKey: String, what: String, at node: Yams.Node) throws -> GitSecretSource? {
            switch (fields[fileKey], fields[envKey]) {
            case (let file?, nil): return .file(try string(file, what: "\(what).\(fileKey)"))
            case (nil, let env?): return .environment(try string(env, what: "\(what).\(envKey)"))
            case (nil, nil): return nil
            case (_?, _?): throw error(node, "\(what) has both \(fileKey) and \(envKey)", hint: "give one of them")
            }
        }

        func source(_ node: Yams.Node) throws -> SourceConfig {
            let fields = try mapping(node, what: "a source", allowed: [
                "name", "url", "ref", "path", "interval", "prune", "selfHeal", "auth", "webhook", "namespace",
                "rolloutTimeout", "failureThreshold",
            ])
            guard let nameNode = fields["name"] else { throw error(node, "a source needs a name") }
            let name = try string(nameNode, what: "name")
            guard NameCheck.isDNSLabel(name) else {
                throw error(nameNode, "source name \"\(name)\" is not a valid name", hint: "use lower-case letters, digits and '-', at most 63 characters")
            }
            guard let urlNode = fields["url"] else { throw error(node, "source \"\(name)\" needs a url") }
            var source = SourceConfig(name: name, url: try string(urlNode, what: "url"))
            if let ref = fields["ref"] { source.ref = try string(ref, what: "ref") }
            if let path = fields["path"] { source.path = try string(path, what: "path") }
            if let interval = fields["interval"] { source.interval = try duration(interval, what: "interval") }
            if let prune = fields["prune"] { source.prune = try bool(prune, what: "prune") }
            if let selfHeal = fields["selfHeal"] { source.selfHeal = try bool(selfHeal, what: "selfHeal") }
            if let namespace = fields["namespace"] { source.namespace = try string(namespace, what: "namespace") }
            if let timeout = fields["rolloutTimeout"] { source.rolloutTimeout = try duration(timeout, what: "rolloutTimeout") }
            if let threshold = fields["failureThreshold"] { source.failureThreshold = try int(threshold, what: "failureThreshold", minimum: 1) }
            if let auth = fields["auth"] { source.credentials = try credentials(auth) }
            if let webhook = fields["webhook"] {
                let hook = try mapping(webhook, what: "webhook", allowed: ["secretFile", "secretEnv"])
                source.webhookSecret = try secret(hook, file: "secretFile", env: "secretEnv", what: "webhook", at: webhook)
            }
            return source
        }

        func credentials(_ node: Yams.Node) throws -> GitCredentials {
            let fields = try mapping(node, what: "auth", allowed: [
                "username", "passwordFile", "passwordEnv", "tokenFile", "tokenEnv", "sshKey", "knownHosts", "sshUser",
                "passphraseFile", "passphraseEnv",
            ])
            if let key = fields["sshKey"] {
                guard let knownHosts = fields["knownHosts"] else {
                    throw error(node, "auth with sshKey needs knownHosts", hint: "the server's host key must be checked; give a known_hosts file")
                }
                return .sshKey(
                    privateKeyPath: try string(key, what: "auth.sshKey"),
                    knownHostsPath: try string(knownHosts, what: "auth.knownHosts"),
                    user: try fields["sshUser"].map { try string($0, what: "auth.sshUser") },
                    passphrase: try secret(fields, file: "passphraseFile", env: "passphraseEnv", what: "auth", at: node))
            }
            let username = try fields["username"].map { try string($0, what: "auth.username") }
            if let token = try secret(fields, file: "tokenFile", env: "tokenEnv", what: "auth", at: node) {
                return .token(token, username: username ?? "x-access-token")
            }
            if let password = try secret(fields, file: "passwordFile", env: "passwordEnv", what: "auth", at: node) {
                guard let username else { throw error(node, "auth with a password needs a username") }
                return .basic(username: username, password: password)
            }
            return .none
        }

        func registry(_ node: Yams.Node) throws -> RegistryConfig {
            let fields = try mapping(node, what: "a registry", allowed: ["host", "mirrors", "insecure", "username", "passwordFile", "passwordEnv"])
            guard let host = fields["host"] else { throw error(node, "a registry needs a host") }
            var registry = RegistryConfig(host: try string(host, what: "host"))
            if let mirrors = fields["mirrors"] {
                registry.mirrors = try sequence(mirrors, what: "mirrors").map { try string($0, what: "a mirror") }
            }
            if let insecure = fields["insecure"] { registry.insecure = try bool(insecure, what: "insecure") }
            registry.username = try fields["username"].map { try string($0, what: "username") }
            registry.password = try secret(fields, file: "passwordFile", env: "passwordEnv", what: "registry", at: node)
            return registry
        }
    }
}

enum NameCheck {
    static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 63, let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }
}
