import Dispatch

/// A serial executor on its own dispatch queue, for actors whose methods
/// block: `nft -f` (a child process waited for), netlink round trips and
/// flock'ed IPAM files. Running them on the cooperative pool (two threads on
/// a small node) would stall every other task while the kernel or `nft`
/// works; on their own queue they only hold up their own actor.
final class DispatchQueueExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: the queue is immutable and DispatchQueue is thread-safe.
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { unowned.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
