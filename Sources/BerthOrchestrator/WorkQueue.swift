import Foundation

/// client-go's workqueue, as controller-runtime uses it: a key added while it
/// is queued is merged; a key added while it is being processed is processed
/// again once `done` is called (never twice at once); `addAfter` delays;
/// `addRateLimited` delays by per-item exponential backoff (5 ms doubling to
/// 1000 s) combined with an overall token bucket (10/s, burst 100), the
/// larger of the two — `DefaultControllerRateLimiter`.
public actor WorkQueue<Key: Hashable & Sendable> {
    private let clock: any OrchestratorClock
    private var queue: [Key] = []
    private var dirty: Set<Key> = []
    private var processing: Set<Key> = []
    private var delayed: [Key: Date] = [:]
    private var failures: [Key: Int] = [:]
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var shuttingDown = false

    // Per-item exponential backoff.
    public let baseDelay: TimeInterval
    public let maxDelay: TimeInterval
    // Overall token bucket.
    private let bucketRate: Double
    private let bucketBurst: Double
    private var tokens: Double
    private var lastRefill: Date

    public init(clock: any OrchestratorClock, baseDelay: TimeInterval = 0.005, maxDelay: TimeInterval = 1000,
                bucketRate: Double = 10, bucketBurst: Double = 100) {
        self.clock = clock
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.bucketRate = bucketRate
        self.bucketBurst = bucketBurst
        self.tokens = bucketBurst
        self.lastRefill = clock.now()
    }

    // MARK: Adding

    public func add(_ key: Key) {
        guard !shuttingDown, !dirty.contains(key) else { return }
        dirty.insert(key)
        if !processing.contains(key) {
            queue.append(key)
            wakeWaiters()
        }
    }

    /// Adds `key` once `delay` seconds have passed on the clock. A key
    /// already waiting keeps the earlier of the two times.
    public func addAfter(_ key: Key, delay: TimeInterval) {
        guard !shuttingDown else { return }
        if delay <= 0 { add(key); return }
        let due = clock.now().addingTimeInterval(delay)
        if let existing = delayed[key], existing <= due { return }
        delayed[key] = due
        wakeWaiters()
    }

    /// Requeues after a failure, with backoff. Returns the delay used.
    @discardableResult
    public func addRateLimited(_ key: Key) -> TimeInterval {
        let delay = rateLimitDelay(for: key)
        addAfter(key, delay: delay)
        return delay
    }

    /// Clears the failure history of `key` (call after a successful reconcile).
    public func forget(_ key: Key) { failures[key] = nil }

    public func numRequeues(_ key: Key) -> Int { failures[key] ?? 0 }

    /// The delay `addRateLimited` would use next, and records the failure.
    public func rateLimitDelay(for key: Key) -> TimeInterval {
        let count = failures[key] ?? 0
        failures[key] = count + 1
        let exponential = min(baseDelay * pow(2, Double(count)), maxDelay)
        // Token bucket: one token per request; when empty, wait for the refill.
        let now = clock.now()
        tokens = min(bucketBurst, tokens + now.timeIntervalSince(lastRefill) * bucketRate)
        lastRefill = now
        tokens -= 1
        let bucket = tokens >= 0 ? 0 : -tokens / bucketRate
        return max(exponential, bucket)
    }

    // MARK: Taking

    /// The next ready key, or nil when none is ready now. The caller must
    /// call `done` with it.
    public func tryGet() -> Key? {
        promoteDue()
        guard !queue.isEmpty else { return nil }
        let key = queue.removeFirst()
        dirty.remove(key)
        processing.insert(key)
        return key
    }

    public func done(_ key: Key) {
        processing.remove(key)
        if dirty.contains(key) {
            queue.append(key)
            wakeWaiters()
        }
    }

    /// Waits for a ready key, for at most until `deadline`; nil on timeout
    /// or shutdown.
    public func get(deadline: Date) async -> Key? {
        while !shuttingDown && !Task.isCancelled {
            if let key = tryGet() { return key }
            let now = clock.now()
            if now >= deadline { return nil }
            let wake = min(deadline, nextDelayedDue ?? deadline)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.append(continuation)
                let clock = self.clock
                Task { [weak self] in
                    try? await clock.sleep(until: wake)
                    await self?.wakeWaiters()
                }
            }
        }
        return nil
    }

    public func shutDown() {
        shuttingDown = true
        wakeWaiters()
    }

    // MARK: Introspection (tests, metrics)

    public var readyCount: Int { promoteDue(); return queue.count }
    public var delayedCount: Int { delayed.count }
    public var nextDelayedDue: Date? { delayed.values.min() }
    public var isProcessing: Bool { !processing.isEmpty }

    // MARK: Private

    private func promoteDue() {
        let now = clock.now()
        for (key, due) in delayed where due <= now {
            delayed[key] = nil
            add(key)
        }
    }

    private func wakeWaiters() {
        let current = waiters
        waiters = []
        current.forEach { $0.resume() }
    }
}
