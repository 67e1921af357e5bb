/// Picks the manifest for a platform from an image index, with containerd's
/// rules: OS and architecture must match (after normalizing names such as
/// x86_64 → amd64 and aarch64 → arm64); for arm64 a missing variant means
/// v8; for 32-bit arm a v7 machine also runs v6 and v5 images (best first);
/// entries without a platform or for `unknown/unknown` (BuildKit's
/// attestations) are skipped.
public enum RegistryPlatformMatcher {
    /// The best manifest for `platform`, or nil.
    public static func select(from manifests: [OCIDescriptor], for platform: OCIPlatform) -> OCIDescriptor? {
        let wanted = normalize(platform)
        let acceptable = compatibleVariants(wanted)
        var best: (rank: Int, descriptor: OCIDescriptor)?
        for descriptor in manifests {
            guard let offered = descriptor.platform.map(normalize) else { continue }
            guard offered.os == wanted.os, offered.architecture == wanted.architecture else { continue }
            guard let rank = acceptable.firstIndex(of: offered.variant ?? "") else { continue }
            if best == nil || rank < best?.rank ?? .max { best = (rank, descriptor) }
        }
        return best?.descriptor
    }

    /// Go names, lowercase, with the default variants filled in.
    public static func normalize(_ platform: OCIPlatform) -> OCIPlatform {
        var os = platform.os.lowercased()
        if os == "macos" { os = "darwin" }
        var architecture = platform.architecture.lowercased()
        var variant = platform.variant?.lowercased()
        switch architecture {
        case "i386", "i686", "x86":
            architecture = "386"
        case "x86_64", "x86-64", "amd64":
            architecture = "amd64"
            if variant == "v1" { variant = nil }
        case "aarch64", "arm64":
            architecture = "arm64"
            if variant == nil || variant == "8" { variant = "v8" }
        case "armhf":
            architecture = "arm"
            variant = "v7"
        case "armel":
            architecture = "arm"
            variant = "v6"
        case "arm":
            if variant == nil || variant == "7" { variant = "v7" }
            if variant == "6" { variant = "v6" }
            if variant == "5" { variant = "v5" }
        default:
            break
        }
        return OCIPlatform(architecture: architecture, os: os, variant: variant)
    }

    /// Variants a machine of `platform` runs, best first; "" is "none given".
    static func compatibleVariants(_ platform: OCIPlatform) -> [String] {
        switch (platform.architecture, platform.variant) {
        case ("arm64", let variant):
            return [variant ?? "v8", "v8", ""].uniqued()
        case ("arm", "v8"?): return ["v8", "v7", "v6", "v5"]
        case ("arm", "v7"?): return ["v7", "v6", "v5"]
        case ("arm", "v6"?): return ["v6", "v5"]
        case ("arm", "v5"?): return ["v5"]
        case ("amd64", let variant?):
            // An x86-64-v3 machine runs v3, v2 and baseline images.
            let levels = ["v4", "v3", "v2"]
            let start = levels.firstIndex(of: variant) ?? levels.count
            return Array(levels[start...]) + ["v1", ""]
        case (_, let variant?): return [variant]
        case (_, nil): return [""]
        }
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
