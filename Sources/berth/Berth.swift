import ArgumentParser
import BerthRuntime
import Foundation

/// The `berth` command. One file per subcommand; this file only lists them.
@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "From a git repository of Kubernetes YAML to running, health-checked containers.",
        version: BerthVersion.current,
        subcommands: [
            VersionCommand.self,
            RenderCommand.self,
            RunCommand.self,
            PsCommand.self,
            LogsCommand.self,
            StopCommand.self,
            KillCommand.self,
            RmCommand.self,
            ExecCommand.self,
            InspectCommand.self,
            ImageCommand.self,
            ServeCommand.self,
            ApplyCommand.self,
            GetCommand.self,
            DescribeCommand.self,
            DeleteCommand.self,
            ScaleCommand.self,
            RolloutCommand.self,
            SyncCommand.self,
            HistoryCommand.self,
            RollbackCommand.self,
            StatusCommand.self,
            DriftCommand.self,
        ]
    )

    /// `berth run` lines that `RunInvocation.fastParse` reads skip
    /// ArgumentParser (its reflection is a fifth of a container start);
    /// everything else, and any error, goes the usual way.
    static func main() async {
        LinuxTiming.mark("cli: main")
        let words = CommandLine.arguments.dropFirst()
        if words.first == "run" {
            if RunInvocation.wantsHelp(words.dropFirst()) {
                print(helpMessage(for: RunCommand.self))
                return
            }
            if let run = RunInvocation.fastParse(words.dropFirst(), environment: RunInvocation.environment()) {
                do {
                    // One thread for the whole run (CurrentThreadExecutor says why).
                    try CurrentThreadExecutor.run { try await run.execute() }
                } catch {
                    LinuxTiming.mark("cli: exit")
                    exit(withError: error)  // as ArgumentParser's main reports a run() error
                }
                LinuxTiming.mark("cli: exit")
                return
            }
        }
        await main(nil)
    }
}
