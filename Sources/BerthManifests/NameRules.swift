/// The name and label syntax rules of Kubernetes (k8s.io/apimachinery's
/// `validation` package), with its messages, so that a manifest Berth
/// rejects is one the API server would reject, for the same reason.
enum NameRules {
    static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        + "and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', "
        + "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        + "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        + "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
        + "start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', "
        + "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
        + "and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', "
        + "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    static let qualifiedNameMessage = "name part must consist of alphanumeric characters, '-', '_' or '.', "
        + "and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', "
        + "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    static let envVarNameMessage = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
        + "and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1', "
        + "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
    static let configKeyMessage = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
        + "(e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"

    // MARK: Character classes

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
    private static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    private static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (b >= 0x41 && b <= 0x5A) }
    private static func isAlpha(_ b: UInt8) -> Bool { isLower(b) || (b >= 0x41 && b <= 0x5A) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static let dash = UInt8(ascii: "-"), dot = UInt8(ascii: "."), underscore = UInt8(ascii: "_")

    // MARK: Checks (nil = valid, else the reason)

    static func dns1123Label(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.count > 63 { return "must be no more than 63 characters" }
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last),
              bytes.allSatisfy({ isLowerAlnum($0) || $0 == dash }) else { return dns1123LabelMessage }
        return nil
    }

    static func dns1035Label(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.count > 63 { return "must be no more than 63 characters" }
        guard let first = bytes.first, let last = bytes.last, isLower(first), isLowerAlnum(last),
              bytes.allSatisfy({ isLowerAlnum($0) || $0 == dash }) else { return dns1035LabelMessage }
        return nil
    }

    static func dns1123Subdomain(_ text: String) -> String? {
        if text.utf8.count > 253 { return "must be no more than 253 characters" }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        for part in parts {
            let bytes = Array(part.utf8)
            guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last),
                  bytes.allSatisfy({ isLowerAlnum($0) || $0 == dash }) else { return dns1123SubdomainMessage }
        }
        return nil
    }

    /// A label or annotation key: `[prefix/]name`.
    static func qualifiedName(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            if parts[0].isEmpty { return "prefix part must be non-empty" }
            if let problem = dns1123Subdomain(String(parts[0])) { return "prefix part \(problem)" }
            name = parts[1]
        default:
            return "a qualified name " + qualifiedNameMessage.dropFirst("name part ".count)
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        }
        if name.isEmpty { return "name part must be non-empty" }
        if name.utf8.count > 63 { return "name part must be no more than 63 characters" }
        return labelNameBody(name) ? nil : qualifiedNameMessage
    }

    static func labelValue(_ text: String) -> String? {
        if text.utf8.count > 63 { return "must be no more than 63 characters" }
        if text.isEmpty { return nil }
        return labelNameBody(Substring(text)) ? nil : labelValueMessage
    }

    private static func labelNameBody(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == dash || $0 == dot || $0 == underscore }
    }

    static func envVarName(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, !isDigit(first),
              bytes.allSatisfy({ isAlnum($0) || $0 == dash || $0 == dot || $0 == underscore })
        else { return envVarNameMessage }
        return nil
    }

    static func configKey(_ text: String) -> String? {
        if text.utf8.count > 253 { return "must be no more than 253 characters" }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ isAlnum($0) || $0 == dash || $0 == dot || $0 == underscore })
        else { return configKeyMessage }
        if text == "." || text == ".." { return "must not be '\(text)'" }
        return nil
    }

    /// IANA service names, which named ports must be (`http`, `metrics`).
    static func portName(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.count > 15 { return "must be no more than 15 characters" }
        guard bytes.allSatisfy({ isLowerAlnum($0) || $0 == dash }) else {
            return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        }
        if text.contains("--") { return "must not contain consecutive hyphens" }
        guard bytes.contains(where: isLower) else { return "must contain at least one letter (a-z)" }
        if bytes.first == dash || bytes.last == dash { return "must not begin or end with a hyphen" }
        return nil
    }
}
