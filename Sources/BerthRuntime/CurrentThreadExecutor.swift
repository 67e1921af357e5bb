import Glibc

/// Runs an async operation entirely on the calling thread.
///
/// `berth run` is one short process. Left to the default executors, its few
/// awaits (the container manager actor, the image store, the shim's status
/// pipe) spread over up to six threads, which the process creates, hands
/// work between and tears down again at exit: ~2 ms of a container start
/// (bench/container-start). As the operation's task executor preference,
/// this executor keeps its nonisolated async code and its default actors on
/// the calling thread, and `BlockingWork` runs in place.
///
/// Jobs may still be enqueued from other threads (a timer's or a Dispatch
/// callback's resumption): the queue is guarded by a mutex and a condition.
/// Code that needs the main actor must not run under it: the main thread is
/// busy draining this executor.
public final class CurrentThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var jobs: [UnownedJob] = []
    /// Guarded by `mutex`: the operation has returned or thrown.
    private var finished = false

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `operation` to its end on the calling thread and returns (or throws) what it does.
    public static func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let executor = CurrentThreadExecutor()
        let outcome = Outcome<T>()
        Task(executorPreference: executor) {
            do {
                let value = try await BlockingWork.$inline.withValue(true) { try await operation() }
                outcome.result = .success(value)
            } catch {
                outcome.result = .failure(error)
            }
            executor.finish()
        }
        executor.drain()
        guard let result = outcome.result else { fatalError("CurrentThreadExecutor: the operation did not finish") }
        return try result.get()
    }

    private func finish() {
        pthread_mutex_lock(mutex)
        finished = true
        pthread_mutex_unlock(mutex)
    }

    /// Runs jobs as they come until the operation has finished.
    private func drain() {
        let me = asUnownedTaskExecutor()
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !finished { pthread_cond_wait(condition, mutex) }
            if jobs.isEmpty {
                pthread_mutex_unlock(mutex)
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(mutex)
            for job in batch { job.runSynchronously(on: me) }
        }
    }

    /// The operation's result, written by its task and read after `drain`
    /// returns (the mutex in `finish` orders the two).
    private final class Outcome<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }
}
