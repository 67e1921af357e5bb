import BerthAPI
@testable import BerthRuntime
import Foundation
import Testing

extension RootContainerTests {
/// `berth run`'s early start: a shim started before its container exists
/// takes the configuration later and runs the container like any other; one
/// released unused goes away; one that does not fit the container is refused.
@Suite("Early shim (root, real containers)")
struct EarlyShimRootTests {
    func options(_ script: String) -> ContainerOptions {
        var o = ContainerOptions(rootfs: Fixtures.busyboxRootfs)
        o.entrypoint = ["/bin/sh", "-c", script]
        return o
    }

    @Test func earlyShimRunsTheContainerGivenLater() async throws {
        let rt = try TestRuntime("early")
        let early = try rt.manager.startShimEarly(attach: nil, stdin: nil, tty: false)
        let c = try await rt.manager.create(options("echo early-out; echo early-err >&2; exit 4"))
        let started = try await rt.manager.start(c.id, early: early)
        let done = try await rt.manager.wait(c.id)
        let logs = try await rt.manager.logs(c.id)
        await rt.close()
        #expect(started.pid != nil && started.shimPid != nil)
        #expect(done.exitCode == 4 && done.reason == "Error")
        #expect(logs.map(\.text).sorted() == ["early-err", "early-out"])
    }

    @Test func unusedOrMismatchedEarlyShimsGoAway() async throws {
        let rt = try TestRuntime("early-unused")
        // Released unused: the monitor sees its configuration pipe close and
        // exits, which closes its status pipe.
        var unused: EarlyShim? = try rt.manager.startShimEarly(attach: nil, stdin: nil, tty: false)
        let unusedReader = try #require(unused?.reader)
        unused = nil
        #expect(unusedReader.blockingLine() == nil)
        // Started without -t, asked to start a -t container: refused before
        // anything is handed over, and then it goes away too.
        var mismatched: EarlyShim? = try rt.manager.startShimEarly(attach: nil, stdin: nil, tty: false)
        let mismatchedReader = try #require(mismatched?.reader)
        var o = options("true")
        o.tty = true
        let c = try await rt.manager.create(o)
        let error = await #expect(throws: BerthError.self) { try await rt.manager.start(c.id, early: mismatched) }
        mismatched = nil
        #expect(mismatchedReader.blockingLine() == nil)
        await rt.close()
        #expect(error?.message.contains("early shim") == true)
    }
}
}
