import BerthAPI
import Foundation
import Glibc

/// One allocation: a value (an IPv4 address as a number, or a port) and who holds it.
public struct IPAMAllocation: Sendable, Hashable, Codable {
    public var value: UInt32
    /// The sandbox id for pod addresses, `namespace/name` for ClusterIPs,
    /// `namespace/name/port` for NodePorts.
    public var owner: String
    /// What else must be undone when the allocation goes (the host veth name, hostPorts …).
    public var attributes: [String: String]

    public init(value: UInt32, owner: String, attributes: [String: String] = [:]) {
        self.value = value
        self.owner = owner
        self.attributes = attributes
    }
}

/// A persisted allocator over an integer range — pod addresses, ClusterIPs and
/// NodePorts all use it.
///
/// The state is a JSON file that survives restarts (an address in use is never
/// handed out twice, even by a new process); every operation takes an
/// exclusive `flock` on a side lock file and writes atomically (temp file +
/// rename), so a crash leaves either the old or the new state. Allocation
/// continues after the last one handed out, so a just-released address is not
/// reused at once (stale ARP entries and conntrack state die first).
public struct IPAM: Sendable {
    public let path: String
    public let range: ClosedRange<UInt32>

    struct State: Codable {
        var range: String
        var last: UInt32?
        var allocations: [IPAMAllocation]
    }

    public init(path: String, range: ClosedRange<UInt32>) throws {
        self.path = path
        self.range = range
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// The usable host addresses of a CIDR, minus the first `reserved` hosts (the gateway).
    public init(path: String, cidr: IPv4CIDR, reserved: UInt32) throws {
        try self.init(path: path, range: (cidr.network.value + 1 + reserved)...(cidr.broadcast.value - 1))
    }

    // MARK: - Operations

    /// Returns the owner's allocation if it has one (idempotent), else the
    /// requested value or the next free one. With `move`, an owner that holds
    /// another value than `requested` gets `requested` instead (in the same
    /// locked transaction: if `requested` is taken, it keeps the old one).
    public func allocate(owner: String, requested: UInt32? = nil, attributes: [String: String] = [:], move: Bool = false,
                         describe: (UInt32) -> String = { String($0) }) throws -> IPAMAllocation {
        try locked { state in
            if move, let requested, let i = state.allocations.firstIndex(where: { $0.owner == owner }),
               state.allocations[i].value != requested {
                state.allocations.remove(at: i)
            }
            if let i = state.allocations.firstIndex(where: { $0.owner == owner }) {
                if let requested, state.allocations[i].value != requested {
                    throw BerthError(.conflict, "\(owner) already holds \(describe(state.allocations[i].value)), not \(describe(requested))")
                }
                for (k, v) in attributes { state.allocations[i].attributes[k] = v }
                return state.allocations[i]
            }
            let used = Set(state.allocations.map(\.value))
            let value: UInt32
            if let requested {
                guard range.contains(requested) else {
                    throw BerthError(.invalidArgument, "\(describe(requested)) is outside the range \(describe(range.lowerBound))–\(describe(range.upperBound))")
                }
                if used.contains(requested) {
                    let holder = state.allocations.first { $0.value == requested }?.owner ?? "?"
                    throw BerthError(.conflict, "\(describe(requested)) is already allocated to \(holder)",
                                     hint: "choose another value or leave it empty to get a free one")
                }
                value = requested
            } else {
                guard used.count < range.count else {
                    throw BerthError(.unavailable, "no free value left in \(describe(range.lowerBound))–\(describe(range.upperBound)) (\(used.count) in use)",
                                     hint: "delete unused pods or services, or configure a larger range")
                }
                var candidate = state.last.map { $0 >= range.upperBound ? range.lowerBound : $0 + 1 } ?? range.lowerBound
                if !range.contains(candidate) { candidate = range.lowerBound }
                while used.contains(candidate) {
                    candidate = candidate >= range.upperBound ? range.lowerBound : candidate + 1
                }
                value = candidate
            }
            let allocation = IPAMAllocation(value: value, owner: owner, attributes: attributes)
            state.allocations.append(allocation)
            state.last = value
            return allocation
        }
    }

    /// Releases every allocation of `owner`; returns what was released.
    @discardableResult
    public func release(owner: String) throws -> [IPAMAllocation] {
        try locked { state in
            let gone = state.allocations.filter { $0.owner == owner }
            state.allocations.removeAll { $0.owner == owner }
            return gone
        }
    }

    /// Releases every allocation whose owner has the prefix (all NodePorts of one Service).
    @discardableResult
    public func release(ownerPrefix: String) throws -> [IPAMAllocation] {
        try locked { state in
            let gone = state.allocations.filter { $0.owner.hasPrefix(ownerPrefix) }
            state.allocations.removeAll { $0.owner.hasPrefix(ownerPrefix) }
            return gone
        }
    }

    /// Releases the allocations whose owner has the prefix but is not in `keeping`.
    @discardableResult
    public func release(ownerPrefix: String, keeping: Set<String>) throws -> [IPAMAllocation] {
        try locked { state in
            let stale: (IPAMAllocation) -> Bool = { $0.owner.hasPrefix(ownerPrefix) && !keeping.contains($0.owner) }
            let gone = state.allocations.filter(stale)
            state.allocations.removeAll(where: stale)
            return gone
        }
    }

    public func allocations() throws -> [IPAMAllocation] {
        try locked { state in state.allocations }
    }

    // MARK: - File

    private func locked<T>(_ body: (inout State) throws -> T) throws -> T {
        let lockFD = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else {
            throw BerthError(.runtime, "cannot open \(path).lock: \(String(cString: strerror(errno)))")
        }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw BerthError(.runtime, "cannot lock \(path).lock: \(String(cString: strerror(errno)))")
            }
        }
        defer { flock(lockFD, LOCK_UN) }
        let rangeText = "\(range.lowerBound)-\(range.upperBound)"
        var state = State(range: rangeText, last: nil, allocations: [])
        if let data = FileManager.default.contents(atPath: path) {
            do {
                state = try JSONDecoder().decode(State.self, from: data)
            } catch {
                throw BerthError(.storeCorrupt, "the allocation file \(path) cannot be read", hint: "inspect or remove it", cause: error)
            }
        }
        let before = state.allocations
        let beforeLast = state.last
        let result = try body(&state)
        if state.allocations != before || state.last != beforeLast || FileManager.default.contents(atPath: path) == nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(state)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        return result
    }
}
