import BerthAPI
import Foundation

/// A set of Linux capabilities as the 64-bit mask the kernel uses, so that the
/// C child can apply it with one `capset` and a loop of `PR_CAPBSET_DROP`.
public struct CapabilitySet: Sendable, Hashable, Codable, CustomStringConvertible {
    public var mask: UInt64

    public init(mask: UInt64) { self.mask = mask }

    /// Capability numbers from linux/capability.h, by name without `CAP_`.
    public static let numbers: [String: Int] = [
        "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
        "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
        "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
        "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
        "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
        "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
        "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
        "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
    ]

    /// Docker's (and containerd's) default set: 14 capabilities. Mask 0xa80425fb.
    public static let dockerDefault = CapabilitySet(names: [
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
        "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ])

    public static let all = CapabilitySet(mask: numbers.values.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) })
    public static let none = CapabilitySet(mask: 0)

    init(names: [String]) {
        mask = names.compactMap { Self.numbers[$0] }.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }
    }

    public func contains(_ name: String) -> Bool {
        guard let n = Self.numbers[Self.normalize(name)] else { return false }
        return mask & (1 << UInt64(n)) != 0
    }

    /// `CAP_NET_ADMIN`, `net_admin` and `NET_ADMIN` all name the same thing.
    static func normalize(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
    }

    /// The default set with Docker's `--cap-add` / `--cap-drop` semantics:
    /// drops apply first, then adds; `ALL` means every capability.
    public static func resolve(add: [String], drop: [String], base: CapabilitySet = .dockerDefault) throws -> CapabilitySet {
        var mask = base.mask
        for name in drop.map(normalize) {
            if name == "ALL" { mask = 0; continue }
            guard let n = numbers[name] else { throw unknown(name) }
            mask &= ~(1 << UInt64(n))
        }
        for name in add.map(normalize) {
            if name == "ALL" { mask = all.mask; continue }
            guard let n = numbers[name] else { throw unknown(name) }
            mask |= 1 << UInt64(n)
        }
        return CapabilitySet(mask: mask)
    }

    private static func unknown(_ name: String) -> BerthError {
        BerthError(.invalidArgument, "unknown capability \(name)",
                   hint: "use a name such as NET_ADMIN or SYS_PTRACE (with or without CAP_), or ALL")
    }

    public var names: [String] {
        Self.numbers.filter { mask & (1 << UInt64($0.value)) != 0 }.sorted { $0.value < $1.value }.map { "CAP_" + $0.key }
    }

    public var hex: String { String(mask, radix: 16) }
    public var description: String { String(format: "%016llx", mask) }
}
