import BerthAPI
import CGit2
import Foundation

/// Credentials with their secrets read, for one fetch. Lives only on the git queue.
enum ResolvedCredentials: Sendable {
    case none
    case userPassword(user: String, password: String)
    case sshKey(user: String?, privateKey: String, publicKey: String?, passphrase: String?)

    init(_ credentials: GitCredentials) throws(BerthError) {
        switch credentials {
        case .none:
            self = .none
        case .basic(let user, let password):
            self = .userPassword(user: user, password: try password.read())
        case .token(let source, let user):
            self = .userPassword(user: user, password: try source.read())
        case .sshKey(let key, _, let user, let passphrase):
            guard FileManager.default.isReadableFile(atPath: key) else {
                throw BerthError(.invalidArgument, "cannot read SSH private key \(key)", hint: "check the path and its permissions")
            }
            let pub = key + ".pub"
            self = .sshKey(
                user: user, privateKey: key,
                publicKey: FileManager.default.isReadableFile(atPath: pub) ? pub : nil,
                passphrase: try passphrase?.read())
        }
    }

    /// Values that must never appear in a message.
    var secrets: [String] {
        switch self {
        case .none: []
        case .userPassword(_, let password): [password]
        case .sshKey(_, _, _, let passphrase): passphrase.map { [$0] } ?? []
        }
    }
}

/// The payload of libgit2's credential and certificate callbacks during one fetch.
///
/// Records *why* a fetch failed (credentials rejected, host key refused),
/// because libgit2's own error text for these cases is vague and differs
/// between transports.
final class FetchContext {
    let url: GitRemoteURL
    let credentials: ResolvedCredentials
    let knownHosts: KnownHosts?
    let knownHostsPath: String?
    var attempts = 0
    var authRejected = false
    var credentialsMissing = false
    var hostKeyFailure: BerthError?

    init(url: GitRemoteURL, credentials: ResolvedCredentials, knownHosts: KnownHosts?, knownHostsPath: String?) {
        self.url = url
        self.credentials = credentials
        self.knownHosts = knownHosts
        self.knownHostsPath = knownHostsPath
    }

    /// libgit2 asks again after every rejected attempt; answering twice with the
    /// same credentials would loop, so the second request means "rejected".
    func credential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, userFromURL: String?, allowed: UInt32) -> Int32 {
        let wantsUsername = allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0
        let wantsKey = allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0
        let wantsPlain = allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0
        switch credentials {
        case .none:
            // libgit2 tries a user and password written in the URL itself before asking us;
            // being asked after that means they were rejected.
            if url.user != nil && (url.transport == .http || url.transport == .https) {
                authRejected = true
            } else {
                credentialsMissing = true
            }
            return GIT_EAUTH.rawValue
        case .userPassword(let user, let password):
            guard wantsPlain else {
                credentialsMissing = true
                return GIT_EAUTH.rawValue
            }
            attempts += 1
            if attempts > 1 {
                authRejected = true
                return GIT_EAUTH.rawValue
            }
            return git_credential_userpass_plaintext_new(out, user, password)
        case .sshKey(let user, let privateKey, let publicKey, let passphrase):
            let name = user ?? userFromURL ?? url.user ?? "git"
            if wantsKey {
                attempts += 1
                if attempts > 1 {
                    authRejected = true
                    return GIT_EAUTH.rawValue
                }
                return git_credential_ssh_key_new(out, name, publicKey, privateKey, passphrase)
            }
            if wantsUsername { return git_credential_username_new(out, name) }
            credentialsMissing = true
            return GIT_EAUTH.rawValue
        }
    }

    /// SSH: the host key must be in known_hosts. TLS: libgit2's own verdict stands.
    func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>, hostFromLibgit2: String?) -> Int32 {
        guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else { return GIT_PASSTHROUGH.rawValue }
        let hostKey = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        let host = url.host ?? hostFromLibgit2 ?? "?"
        let port = url.port ?? 22
        let name = KnownHosts.hostKey(host: host, port: port)
        guard hostKey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostKey.hostkey, hostKey.hostkey_len > 0 else {
            hostKeyFailure = BerthError(.gitAuthFailed, "the SSH server \(name) sent no host key to verify")
            return GIT_ECERTIFICATE.rawValue
        }
        let key = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(raw), count: hostKey.hostkey_len))
        let type = KnownHosts.keyType(of: key) ?? "unknown"
        let file = knownHostsPath ?? "known_hosts"
        switch knownHosts?.verify(host: host, port: port, key: key) ?? .unknown {
        case .trusted:
            return 0
        case .unknown:
            hostKeyFailure = BerthError(
                .gitAuthFailed, "host key verification failed: \(name) (\(type)) is not in \(file)",
                hint: "if this is the right server, add its key: ssh-keyscan -p \(port) -t \(type.replacingOccurrences(of: "ssh-", with: "")) \(host) >> \(file)")
        case .mismatch:
            hostKeyFailure = BerthError(
                .gitAuthFailed, "host key verification failed: the \(type) key of \(name) does not match \(file); someone may be intercepting the connection",
                hint: "if the server's key really changed, replace its line in \(file)")
        case .revoked:
            hostKeyFailure = BerthError(.gitAuthFailed, "host key verification failed: the key of \(name) is marked @revoked in \(file)")
        }
        return GIT_ECERTIFICATE.rawValue
    }
}

// MARK: - C callbacks (no captures; the context travels in `payload`)

let credentialCallback: git_credential_acquire_cb = { out, _, userFromURL, allowed, payload in
    guard let out, let payload else { return -1 }
    let context = Unmanaged<FetchContext>.fromOpaque(payload).takeUnretainedValue()
    return context.credential(out, userFromURL: userFromURL.map { String(cString: $0) }, allowed: allowed)
}

let certificateCallback: git_transport_certificate_check_cb = { cert, _, host, payload in
    guard let cert, let payload else { return -1 }
    let context = Unmanaged<FetchContext>.fromOpaque(payload).takeUnretainedValue()
    return context.checkCertificate(cert, hostFromLibgit2: host.map { String(cString: $0) })
}
