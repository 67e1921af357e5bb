import BerthAPI
import Foundation

/// Where a secret comes from. Secrets are never written in configuration, only
/// a file path or an environment variable name, so that the value stays out
/// of the repository, the history and the logs. Read at every fetch, so a
/// rotated token is picked up without a restart.
public enum GitSecretSource: Sendable, Hashable, CustomStringConvertible {
    case file(String)
    case environment(String)

    /// Reads the secret; a single trailing newline (as `echo` writes) is dropped.
    public func read() throws(BerthError) -> String {
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
                throw BerthError(.invalidArgument, "cannot read secret file \(path)", hint: "check that the file exists and is readable")
            }
            if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
            guard !text.isEmpty else {
                throw BerthError(.invalidArgument, "secret file \(path) is empty", hint: "write the password or token into it")
            }
            return text
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw BerthError(.invalidArgument, "environment variable \(name) is not set", hint: "export \(name) before starting berth")
            }
            return value
        }
    }

    /// Names the source, never the value.
    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .environment(let name): "$\(name)"
        }
    }
}

/// How to log in to a remote.
public enum GitCredentials: Sendable, Hashable, CustomStringConvertible {
    /// Anonymous (public HTTPS, local paths).
    case none
    /// HTTP(S) basic authentication.
    case basic(username: String, password: GitSecretSource)
    /// An HTTP(S) access token, sent as the basic-auth password, which is how GitHub
    /// (`x-access-token`), GitLab (`oauth2`), Gitea and Bitbucket accept tokens for git.
    case token(GitSecretSource, username: String = "x-access-token")
    /// An SSH private key plus the `known_hosts` file the server's host key must be in.
    /// `user` overrides the user in the URL (default `git`).
    case sshKey(privateKeyPath: String, knownHostsPath: String, user: String? = nil, passphrase: GitSecretSource? = nil)

    public static func basic(username: String, passwordFile: String) -> Self {
        .basic(username: username, password: .file(passwordFile))
    }

    public static func basic(username: String, passwordEnv: String) -> Self {
        .basic(username: username, password: .environment(passwordEnv))
    }

    public static func token(file: String, username: String = "x-access-token") -> Self {
        .token(.file(file), username: username)
    }

    public static func token(env: String, username: String = "x-access-token") -> Self {
        .token(.environment(env), username: username)
    }

    /// Says what kind of credentials and where they come from, never a secret.
    public var description: String {
        switch self {
        case .none: "none"
        case .basic(let user, let password): "basic(\(user), password from \(password))"
        case .token(let source, let user): "token(\(user), from \(source))"
        case .sshKey(let key, let knownHosts, let user, _): "sshKey(\(key), known_hosts \(knownHosts)\(user.map { ", user \($0)" } ?? ""))"
        }
    }
}
