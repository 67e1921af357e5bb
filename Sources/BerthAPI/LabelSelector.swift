/// Kubernetes' label selector: matchLabels and matchExpressions.
public struct LabelSelector: Sendable, Hashable, Codable {
    public struct Requirement: Sendable, Hashable, Codable {
        public var key: String
        /// In, NotIn, Exists, DoesNotExist
        public var `operator`: String
        public var values: [String]?

        public init(key: String, operator: String, values: [String]? = nil) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }
    }

    public var matchLabels: [String: String]?
    public var matchExpressions: [Requirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [Requirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// An empty selector matches everything, as in Kubernetes.
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels ?? [:] where labels[key] != value {
            return false
        }
        for requirement in matchExpressions ?? [] {
            let value = labels[requirement.key]
            let values = requirement.values ?? []
            switch requirement.operator {
            case "In":
                guard let value, values.contains(value) else { return false }
            case "NotIn":
                if let value, values.contains(value) { return false }
            case "Exists":
                if value == nil { return false }
            case "DoesNotExist":
                if value != nil { return false }
            default:
                return false
            }
        }
        return true
    }
}
