import ArgumentParser
import BerthAPI
import BerthGit
import BerthReconciler
import BerthServer
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// `berth serve`'s reconciler flags: `--config berth.yaml`, or one source
/// described by `--repo URL --ref REF --path DIR` without a config file.
struct ServeSourceOptions: ParsableArguments {
    @Option(name: .long, help: "berth.yaml with the sources to sync (see examples/berth.yaml).")
    var config: String?

    @Option(name: .long, help: "Sync one git repository (URL or path) without a config file.")
    var repo: String?

    @Option(name: .long, help: "With --repo: branch, tag, commit or semver range (default HEAD).")
    var ref: String?

    @Option(name: .long, help: "With --repo: the directory inside the repository that holds the manifests.")
    var path: String?

    @Option(name: .customLong("source-name"), help: "With --repo: the source's name (default: app).")
    var sourceName: String = "app"

    @Option(name: .long, help: "With --repo: poll interval (default 1m).")
    var interval: String?

    @Option(name: .customLong("rollout-timeout"), help: "With --repo: how long a rollout may take (default 5m).")
    var rolloutTimeout: String?

    @Option(name: .customLong("webhook-secret-file"), help: "With --repo: file holding the webhook secret.")
    var webhookSecretFile: String?

    @Option(name: .customLong("webhook-secret-env"), help: "With --repo: environment variable holding the webhook secret.")
    var webhookSecretEnv: String?

    @OptionGroup var auth: GitAuthOptions

    /// The configuration, from the file or the flags (empty: no sources).
    func load() throws -> BerthConfig {
        if let config {
            guard repo == nil else { throw ValidationError("give either --config or --repo, not both") }
            return try ConfigLoader.load(path: config)
        }
        guard let repo else { return BerthConfig() }
        var source = SourceConfig(name: sourceName, url: repo)
        if let ref { source.ref = ref }
        if let path { source.path = path }
        if let interval {
            guard let value = DurationText.parse(interval) else { throw ValidationError("--interval must be a duration such as 30s or 1m") }
            source.interval = value
        }
        if let rolloutTimeout {
            guard let value = DurationText.parse(rolloutTimeout) else { throw ValidationError("--rollout-timeout must be a duration such as 30s or 5m") }
            source.rolloutTimeout = value
        }
        source.credentials = try auth.credentials()
        source.webhookSecret = webhookSecretFile.map { .file($0) } ?? webhookSecretEnv.map { .environment($0) }
        return BerthConfig(sources: [source])
    }
}

/// Joins the reconciler to `berth serve`: its service, webhooks, API and /metrics.
enum ReconcilerServeHook {
    static func make(config: BerthConfig, store: Store, dataDirectory: String, api: inout APIServer) -> [any ServiceLifecycle.Service] {
        let git = LibGit2Source(dataDirectory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("git"))
        let reconciler = Reconciler(config: config, store: store, git: git, logger: Logger(label: "berth.reconciler"),
                                    admissionChecks: api.admissionChecks)
        api.routeProviders += [
            WebhookRoutes(handler: WebhookHandler(reconciler: reconciler)),
            SourcesRoutes(reconciler: reconciler),
            MetricsRoutes(metrics: reconciler.metrics),
        ]
        return [reconciler]
    }
}
