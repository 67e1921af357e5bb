import BerthAPI
import Foundation

/// A user resolved from the *container's* /etc/passwd and /etc/group (never
/// the host's NSS: names mean what the image says they mean).
struct LinuxUser: Equatable {
    var uid: UInt32
    var gid: UInt32
    var additionalGids: [UInt32]
    var home: String

    /// `nil`/"" → root; `uid`, `uid:gid`, `name`, `name:group`.
    static func resolve(_ spec: String?, layers: [String]) throws -> LinuxUser {
        guard let spec, !spec.isEmpty else {
            return LinuxUser(uid: 0, gid: 0, additionalGids: [], home: "/root")
        }
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let passwd = entries(file: "etc/passwd", layers: layers)
        let groups = entries(file: "etc/group", layers: layers)
        let userPart = parts[0]
        var uid: UInt32
        var gid: UInt32 = 0
        var home = "/"
        var name: String?
        if let n = UInt32(userPart) {
            uid = n
            if let row = passwd.first(where: { $0.count > 5 && UInt32($0[2]) == n }) {
                gid = UInt32(row[3]) ?? 0
                home = row[5]
                name = row[0]
            }
        } else {
            guard let row = passwd.first(where: { $0.count > 5 && $0[0] == userPart }),
                  let u = UInt32(row[2]), let g = UInt32(row[3]) else {
                throw BerthError(.invalidArgument, "user \(userPart) is not in the image's /etc/passwd",
                                 hint: "use a numeric uid[:gid] or a user the image defines")
            }
            uid = u
            gid = g
            home = row[5]
            name = userPart
        }
        if parts.count == 2 {
            if let g = UInt32(parts[1]) {
                gid = g
            } else if let row = groups.first(where: { $0.count > 2 && $0[0] == parts[1] }), let g = UInt32(row[2]) {
                gid = g
            } else {
                throw BerthError(.invalidArgument, "group \(parts[1]) is not in the image's /etc/group")
            }
        }
        var extra: [UInt32] = []
        if let name {
            for row in groups where row.count > 3 {
                if row[3].split(separator: ",").contains(Substring(name)), let g = UInt32(row[2]), g != gid {
                    extra.append(g)
                }
            }
        }
        if home.isEmpty { home = "/" }
        return LinuxUser(uid: uid, gid: gid, additionalGids: extra, home: home)
    }

    /// Rows of the top-most layer that has `file` (a regular file, not a symlink
    /// that could point at the host).
    static func entries(file: String, layers: [String]) -> [[String]] {
        for layer in layers.reversed() {
            let path = layer + "/" + file
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
                  let text = LinuxFiles.readText(path) else { continue }
            return text.split(separator: "\n").filter { !$0.hasPrefix("#") }
                .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        }
        return []
    }
}
