/// Names a mirror's directory under `<dataDir>/git/`.
///
/// Derived from the credential-free URL plus a short hash of it, so two remotes
/// never share a mirror and a rotated token in the URL never moves it.
public enum MirrorName {
    /// `https://example.com/team/app.git` → `example.com-team-app-1a2b3c4d.git`.
    public static func forURL(_ url: String) -> String {
        let clean = Redaction.scrub(url)
        var body = clean
        if let scheme = body.range(of: "://") { body = String(body[scheme.upperBound...]) }
        if body.hasPrefix("***@") { body.removeFirst(4) }
        if body.hasSuffix(".git") { body.removeLast(4) }
        return sanitize(body, maxLength: 60) + "-" + fnv1a(clean) + ".git"
    }

    /// A user-given name, made safe as one path component: `my source` → `my-source.git`.
    public static func forName(_ name: String) -> String {
        sanitize(name, maxLength: 100) + ".git"
    }

    static func sanitize(_ text: String, maxLength: Int) -> String {
        var out = ""
        var lastDash = true
        for c in text {
            if c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_") {
                out.append(c)
                lastDash = false
            } else if !lastDash {
                out.append("-")
                lastDash = true
            }
        }
        while out.hasSuffix("-") || out.hasSuffix(".") { out.removeLast() }
        while out.hasPrefix(".") || out.hasPrefix("-") { out.removeFirst() }
        if out.isEmpty { out = "repo" }
        return String(out.prefix(maxLength))
    }

    static func fnv1a(_ text: String) -> String {
        var hash: UInt32 = 0x811C_9DC5
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
