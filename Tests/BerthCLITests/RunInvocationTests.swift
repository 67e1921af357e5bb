import Foundation
import Testing

@testable import berth

/// `berth run`'s own parser against ArgumentParser's reading of the same line.
@Suite struct RunInvocationTests {
    static let environment = ProcessInfo.processInfo.environment

    static let acceptedLines: [[String]] = [
        ["busybox", "true"],
        ["--rm", "busybox", "true"],
        ["-d", "--name", "web", "busybox", "sleep", "10"],
        ["-it", "busybox", "sh"],
        ["-i", "-t", "--rm", "busybox"],
        ["-dit", "busybox"],
        ["-e", "A=1", "--env", "B=2", "--env=C=3", "-e", "HOME", "busybox", "env"],
        ["--memory", "128m", "--cpus", "0.5", "--pids-limit", "64", "busybox", "true"],
        ["-m", "64m", "-u", "1000:1000", "-w", "/tmp", "-h", "box", "busybox", "true"],
        ["--user", "app", "--workdir", "/srv", "--hostname", "h1", "busybox"],
        ["--read-only", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--cap-drop", "CHOWN", "busybox", "true"],
        ["--entrypoint", "/bin/echo", "busybox", "hi"],
        ["--rootfs", "/tmp/r", "sh", "-c", "echo hi"],
        ["-v", "/a:/b:ro", "--volume", "/c:/d", "busybox", "ls"],
        ["--data-dir", "/tmp/d", "busybox", "true"],
        ["--data-dir=/tmp/e", "--rm", "busybox"],
        ["--", "busybox", "true"],
        ["--rm", "--", "busybox", "--rm"],
        ["busybox", "--rm", "-it", "x", "--", "y"],
        ["--name=web", "--name", "web2", "busybox"],
        ["--cpus", "2", "--pids-limit", "10", "busybox"],
        [],
    ]

    @Test(arguments: acceptedLines)
    func readsWhatArgumentParserReads(line: [String]) throws {
        let parsed = try RunCommand.parse(line)
        let fast = RunInvocation.fastParse(line[...], environment: Self.environment)
        #expect(fast == parsed.invocation)
    }

    /// Lines the fast parser leaves to ArgumentParser: help, unknown or
    /// malformed options, values that look like options.
    static let refusedLines: [[String]] = [
        ["--help"],
        ["-h"],
        ["--cpus", "half", "busybox"],
        ["--pids-limit", "1.5", "busybox"],
        ["--unknown", "busybox"],
        ["-x", "busybox"],
        ["-ix", "busybox"],
        ["-e"],
        ["-e", "-x", "busybox"],
        ["--rm=true", "busybox"],
        ["-e=A=1", "busybox"],
        ["-ie", "A=1", "busybox"],
        ["--name"],
        ["--pids-limit", "-1", "busybox"],  // ArgumentParser: "missing value" too
    ]

    @Test(arguments: refusedLines)
    func leavesTheRestToArgumentParser(line: [String]) {
        #expect(RunInvocation.fastParse(line[...], environment: Self.environment) == nil)
    }

    @Test func helpIsAnOptionBeforeTheImageOnly() {
        #expect(RunInvocation.wantsHelp(["--help"]))
        #expect(RunInvocation.wantsHelp(["--rm", "-it", "--help", "busybox"]))
        #expect(RunInvocation.wantsHelp(["--name", "web", "-e", "A=1", "--help"]))
        #expect(!RunInvocation.wantsHelp(["--name", "--help", "busybox"]))  // --help is the name
        #expect(!RunInvocation.wantsHelp(["busybox", "--help"]))  // the container's
        #expect(!RunInvocation.wantsHelp(["--", "--help"]))
        #expect(!RunInvocation.wantsHelp([]))
    }

    @Test func dataDirDefaultsToTheEnvironmentAsTheOptionDoes() throws {
        let fast = try #require(RunInvocation.fastParse(["busybox"], environment: ["BERTH_DATA_DIR": "/srv/berth"]))
        #expect(fast.dataDir == "/srv/berth")
        let fallback = try #require(RunInvocation.fastParse(["busybox"], environment: [:]))
        #expect(fallback.dataDir == "/var/lib/berth")
    }
}
