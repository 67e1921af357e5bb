import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1

/// Answers registry auth challenges and remembers the answers.
///
/// Bearer tokens are fetched from the challenge's realm (with Basic
/// credentials when the host has some, anonymously otherwise), cached per
/// host and scope and dropped `expires_in` seconds later (60 when the token
/// server does not say, as the distribution spec prescribes). After the
/// first challenge from a host, requests carry the cached answer up front,
/// so a pull costs one 401 round-trip, not one per blob.
actor RegistryAuthenticator {
    private struct Key: Hashable {
        var host: String
        var scope: String
    }

    private struct Token {
        var value: String
        var expires: ContinuousClock.Instant
    }

    private let credentials: RegistryCredentialStore
    private var tokens: [Key: Token] = [:]
    /// The last challenge each host sent: Basic hosts get credentials up
    /// front, Bearer hosts a cached token.
    private var challenges: [String: RegistryAuthChallenge] = [:]

    init(credentials: RegistryCredentialStore) {
        self.credentials = credentials
    }

    /// The Authorization value to send without waiting for a 401, if any.
    func cachedAuthorization(host: String, scope: String) -> String? {
        guard let challenge = challenges[host] else { return nil }
        switch challenge.scheme {
        case "basic":
            return credentials.credential(for: host)?.basicAuthorization
        case "bearer":
            let key = Key(host: host, scope: scope)
            guard let token = tokens[key] else { return nil }
            guard token.expires > .now else {
                tokens[key] = nil
                return nil
            }
            return "Bearer \(token.value)"
        default:
            return nil
        }
    }

    /// Answers the challenges of a 401 from `host`. Throws `.unauthorized`
    /// when there is nothing to answer with.
    func authorize(
        challenges offered: [RegistryAuthChallenge], host: String, scope: String, repository: String,
        transport: any RegistryTransport, allowPlainHTTP: @Sendable (String) -> Bool
    ) async throws -> String {
        let credential = credentials.credential(for: host)
        if let bearer = offered.first(where: { $0.scheme == "bearer" }) {
            challenges[host] = bearer
            // The scope we need (pull, or pull+push), not the challenge's:
            // a HEAD before an upload is challenged for pull only, and a
            // pull-only token would cost another 401 at the POST.
            let token = try await fetchToken(bearer, host: host, scope: scope, repository: repository,
                                             credential: credential, transport: transport, allowPlainHTTP: allowPlainHTTP)
            tokens[Key(host: host, scope: scope)] = token
            return "Bearer \(token.value)"
        }
        if let basic = offered.first(where: { $0.scheme == "basic" }) {
            challenges[host] = basic
            guard let credential else {
                throw BerthError(.unauthorized, "registry \(host) requires a user name and password for repository \(repository)",
                                 hint: Self.credentialHint(host))
            }
            return credential.basicAuthorization
        }
        let schemes = offered.map(\.scheme).joined(separator: ", ")
        throw BerthError(.unauthorized, "registry \(host) answered 401 for repository \(repository) with no usable challenge (\(schemes.isEmpty ? "none" : schemes))",
                         hint: "Berth supports Bearer token and Basic authentication")
    }

    static func credentialHint(_ host: String) -> String {
        "add credentials for \(host) to registries.auths in berth.yaml or to ~/.docker/config.json (docker login)"
    }

    private struct TokenResponse: Decodable {
        var token: String?
        var accessToken: String?
        var expiresIn: Int?

        enum CodingKeys: String, CodingKey {
            case token
            case accessToken = "access_token"
            case expiresIn = "expires_in"
        }
    }

    private func fetchToken(
        _ challenge: RegistryAuthChallenge, host: String, scope: String, repository: String, credential: RegistryCredential?,
        transport: any RegistryTransport, allowPlainHTTP: @Sendable (String) -> Bool
    ) async throws -> Token {
        guard let realm = challenge.realm, var components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), let realmHost = components.host else {
            throw BerthError(.registry, "registry \(host) sent a Bearer challenge without a usable realm")
        }
        // Credentials never travel in clear text, except to loopback or to
        // hosts the configuration calls insecure.
        let realmAuthority = components.port.map { "\(realmHost):\($0)" } ?? realmHost
        guard scheme == "https" || (scheme == "http" && allowPlainHTTP(realmAuthority)) else {
            throw BerthError(.registry, "registry \(host) points to the token service \(realm) over plain HTTP",
                             hint: "list \(realmAuthority) under registries.insecure if that is intended")
        }
        var query = components.queryItems ?? []
        if let service = challenge.service { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: scope))
        components.queryItems = query
        guard let url = components.string else { throw BerthError(.registry, "registry \(host): bad token realm \(realm)") }
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        if let credential { headers.add(name: "Authorization", value: credential.basicAuthorization) }
        let response = try await transport.execute(RegistryRequest(method: .GET, url: url, headers: headers, timeout: .seconds(30)))
        let body = try await response.body.collect(upTo: 1 << 20)
        switch response.status {
        case 200:
            break
        case 401, 403:
            let who = credential.map { "user \($0.username)" } ?? "anonymous access"
            throw BerthError(.unauthorized, "the token service of registry \(host) refused \(who) for repository \(repository) (HTTP \(response.status))",
                             hint: credential == nil ? Self.credentialHint(host) : "check the credentials for \(host)")
        default:
            throw BerthError(.registry, "the token service of registry \(host) answered HTTP \(response.status) for repository \(repository)")
        }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body.readableBytesView)),
              let value = decoded.token ?? decoded.accessToken, !value.isEmpty else {
            throw BerthError(.registry, "the token service of registry \(host) returned no token")
        }
        let lifetime = max(decoded.expiresIn ?? 60, 1)
        // Renew a little early, so a token does not expire in flight.
        let margin = min(10, lifetime / 4)
        return Token(value: value, expires: .now + .seconds(lifetime - margin))
    }
}
