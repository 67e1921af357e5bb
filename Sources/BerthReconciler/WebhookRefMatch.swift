import BerthGit

/// Whether a pushed ref concerns a source that follows `sourceRef`. Pure.
public enum WebhookRefMatch {
    /// nil when the push is for the source; otherwise why it is ignored.
    public static func ignoreReason(sourceRef: String, pushedRef: String?) -> String? {
        guard let pushed = pushedRef, !pushed.isEmpty else { return nil }
        let branch = pushed.hasPrefix("refs/heads/") ? String(pushed.dropFirst(11)) : nil
        let tag = pushed.hasPrefix("refs/tags/") ? String(pushed.dropFirst(10)) : nil
        let bare = branch == nil && tag == nil ? pushed : nil
        switch GitRef(parsing: sourceRef) {
        case .head:
            return branch != nil || bare != nil ? nil : "\(pushed) is a tag; the source follows the default branch"
        case .branch(let name):
            return branch == name || bare == name ? nil : "\(pushed) is not the tracked branch \(name)"
        case .tag(let name):
            return tag == name || bare == name ? nil : "\(pushed) is not the tracked tag \(name)"
        case .semver(let range):
            return tag != nil ? nil : "\(pushed) is not a tag; the source follows semver \(range)"
        case .commit(let sha):
            return "the source is pinned to commit \(sha)"
        case .named(let name):
            return branch == name || tag == name || bare == name ? nil : "\(pushed) is not the tracked ref \(name)"
        }
    }
}
