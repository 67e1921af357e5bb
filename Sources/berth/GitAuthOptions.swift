import ArgumentParser
import BerthGit
import Foundation

/// Credentials for a git remote, as flags. Secrets are only ever named (a
/// file or an environment variable), never passed on the command line, where
/// `ps` would show them.
struct GitAuthOptions: ParsableArguments {
    @Option(name: .customLong("git-username"), help: "User for HTTP(S) basic auth.")
    var username: String?

    @Option(name: .customLong("git-password-file"), help: "File holding the HTTP(S) password or token.")
    var passwordFile: String?

    @Option(name: .customLong("git-password-env"), help: "Environment variable holding the HTTP(S) password or token.")
    var passwordEnv: String?

    @Option(name: .customLong("ssh-key"), help: "SSH private key for ssh:// remotes.")
    var sshKey: String?

    @Option(name: .customLong("known-hosts"), help: "known_hosts file the SSH server's key must be in (default ~/.ssh/known_hosts).")
    var knownHosts: String?

    func credentials() throws -> GitCredentials {
        if let sshKey {
            let home = FileManager.default.homeDirectoryForCurrentUser.path
            return .sshKey(privateKeyPath: sshKey, knownHostsPath: knownHosts ?? "\(home)/.ssh/known_hosts")
        }
        let secret: GitSecretSource? = passwordFile.map { .file($0) } ?? passwordEnv.map { .environment($0) }
        guard let secret else { return .none }
        if let username { return .basic(username: username, password: secret) }
        return .token(secret)
    }
}

extension GitRemote {
    /// Whether `repo` names a git repository rather than a plain directory:
    /// a URL, an scp-like `user@host:path`, or a directory that is itself a
    /// repository (has `.git`, or is bare).
    static func looksLikeRepository(_ repo: String) -> Bool {
        if repo.contains("://") { return true }
        if let remote = try? GitRemoteURL(repo), remote.transport == .ssh { return true }
        let fm = FileManager.default
        let url = URL(fileURLWithPath: repo)
        return fm.fileExists(atPath: url.appendingPathComponent(".git").path)
            || (fm.fileExists(atPath: url.appendingPathComponent("HEAD").path)
                && fm.fileExists(atPath: url.appendingPathComponent("objects").path))
    }
}
