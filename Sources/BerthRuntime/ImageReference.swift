import BerthAPI

/// An image reference, normalized the way Docker does it.
///
/// Manifests say `busybox`, `user/app:1`, `localhost:5000/x@sha256:…`; the
/// store must file all spellings of one image under one key, or `busybox` and
/// `docker.io/library/busybox:latest` would be two images. The rules are those
/// of `github.com/distribution/reference` (`ParseNormalizedNamed` followed by
/// `TagNameOnly`): a first component with a `.` or `:` or equal to
/// `localhost` is a registry, otherwise the registry is `docker.io`; Docker
/// Hub names with a single component get `library/`; a name without tag or
/// digest gets `:latest`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible, Codable {
    /// `docker.io`, `localhost:5000`, `127.0.0.1:5000`, `ghcr.io`.
    public var domain: String
    /// `library/busybox`, `user/app`, `a/b`.
    public var path: String
    /// nil only when the reference is by digest alone.
    public var tag: String?
    /// `sha256:<64 hex>`.
    public var digest: String?

    public static let defaultDomain = "docker.io"

    /// `docker.io/library/busybox` (no tag, no digest).
    public var name: String { "\(domain)/\(path)" }

    /// The full normalized form: `docker.io/library/busybox:latest`,
    /// `localhost:5000/x@sha256:…`.
    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// The short form Docker prints (`busybox`, `user/app`), for tables.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        if path.hasPrefix("library/"), !path.dropFirst("library/".count).contains("/") {
            return String(path.dropFirst("library/".count))
        }
        return path
    }

    public init(domain: String, path: String, tag: String?, digest: String?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// Parses and normalizes `text`. Throws `.invalidArgument` saying which
    /// rule the reference breaks.
    public init(parsing text: String) throws {
        func invalid(_ why: String) -> BerthError {
            BerthError(
                .invalidArgument, "invalid image reference \"\(text)\": \(why)",
                hint: "use NAME[:TAG][@sha256:DIGEST], e.g. busybox:1.36 or localhost:5000/app:v1")
        }
        guard !text.isEmpty else { throw invalid("empty") }
        guard text.count <= 4096 else { throw invalid("too long") }
        var rest = Substring(text)

        // Digest: everything after the first '@'.
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let value = String(rest[rest.index(after: at)...])
            guard Self.isValidDigest(value) else {
                throw invalid("digest must be sha256: followed by 64 lowercase hex digits")
            }
            digest = value
            rest = rest[..<at]
        }

        // Tag: after the last ':' that comes after the last '/'.
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let value = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(value) else {
                throw invalid("tag \"\(value)\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
            tag = value
            rest = rest[..<colon]
        }

        // Domain: the first component, if it looks like a host.
        var domain = Self.defaultDomain
        var path = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                domain = String(first)
                path = String(rest[rest.index(after: slash)...])
                guard Self.isValidDomain(domain) else { throw invalid("registry \"\(domain)\" is not a valid host[:port]") }
            }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        guard !path.isEmpty else { throw invalid("repository name is empty") }
        if path != path.lowercased() { throw invalid("repository name must be lowercase") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components where !Self.isValidPathComponent(component) {
            throw invalid("path component \"\(component)\" must be lowercase letters, digits and single separators (._-)")
        }
        if domain == Self.defaultDomain, components.count == 1 { path = "library/" + path }
        guard domain.count + 1 + path.count <= 255 else { throw invalid("repository name longer than 255 characters") }
        if tag == nil, digest == nil { tag = "latest" }
        self.init(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// Normalizes a reference string (`busybox` → `docker.io/library/busybox:latest`).
    public static func normalize(_ text: String) throws -> String {
        try ImageReference(parsing: text).description
    }

    // MARK: - Grammar

    static func isValidDigest(_ value: String) -> Bool {
        guard value.hasPrefix("sha256:") else { return false }
        let hex = value.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    static func isValidTag(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.dropFirst().allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isWord(_ c: UInt8) -> Bool {
        isAlnum(c) || (c >= 65 && c <= 90) || c == UInt8(ascii: "_")
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 97 && c <= 122)
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isAlnum(bytes[index]) { index += 1; continue }
            // A separator run: ".", "_", "__" or one or more "-".
            var end = index
            while end < bytes.count, !isAlnum(bytes[end]) { end += 1 }
            let run = bytes[index..<end]
            let ok = run.elementsEqual(".".utf8) || run.elementsEqual("_".utf8) || run.elementsEqual("__".utf8)
                || run.allSatisfy { $0 == UInt8(ascii: "-") }
            guard ok else { return false }
            index = end
        }
        return true
    }

    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if let colon = domain.lastIndex(of: ":"), !domain.hasPrefix("[") || domain[..<colon].hasSuffix("]") {
            let port = domain[domain.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return false }
            host = domain[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { return host.count > 2 }  // IPv6 literal
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            return first.isLetter || first.isNumber ? (last.isLetter || last.isNumber)
                && label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) : false
        }
    }
}
