import ArgumentParser
import BerthAPI
import BerthReconciler
import BerthServer
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// `berth serve`: the store, the API and (once merged) the orchestrator's
/// controllers and the reconciler, in one process under
/// swift-service-lifecycle. SIGTERM/SIGINT stop it gracefully; containers
/// are left running.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run Berth: store, API, controllers.")

    @Option(name: .long, help: "Data directory (default: $BERTH_DATA_DIR or /var/lib/berth).")
    var dataDir: String?

    @Option(name: .long, help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7480"

    // MARK: reconciler (sources)
    @OptionGroup var sources: ServeSourceOptions

    func run() async throws {
        let dataDir = dataDir ?? ProcessInfo.processInfo.environment["BERTH_DATA_DIR"] ?? DataDirectory.defaultPath
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:7480")
        }
        let host = String(listen[..<colon])
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let serve = BerthServe(dataDirectory: dataDir, host: host, port: port, logger: Logger(label: "berth"))
        let reconcilerConfig = try sources.load()  // reconciler
        try await serve.run(storeOptions: ServeHooks.storeOptions(), services: { store, api in
            var services = try ServeHooks.services(store: store, api: &api, registries: reconcilerConfig.registries)
            services += ReconcilerServeHook.make(config: reconcilerConfig, store: store, dataDirectory: dataDir, api: &api)  // reconciler
            return services
        })
    }
}

/// The hook where other modules join `berth serve`. The orchestrator adds
/// its controllers (and sets `api.logProvider` from the node runtime); the
/// reconciler adds its sync loop, its migrations and its webhook routes
/// (`api.routeProviders`). Everything returned here runs in the same
/// ServiceGroup as the API and shuts down with it.
enum ServeHooks {
    /// Other modules' migrations (e.g. the reconciler's history tables).
    static func storeOptions() -> Store.Options {
        Store.Options(extraMigrations: Reconciler.migrations /* reconciler */)
    }

    /// `registries`: berth.yaml's `registries:` section, for image pulls.
    @Sendable static func services(store: Store, api: inout APIServer, registries: [RegistryConfig] = []) throws -> [any ServiceLifecycle.Service] {
        var services: [any ServiceLifecycle.Service] = []
        services += try NodeServices.make(
            store: store, api: &api, dataDirectory: (store.path as NSString).deletingLastPathComponent, registries: registries)
        // services += try ReconcilerServices.make(store: store, api: &api)     // BerthReconciler
        _ = store
        _ = api
        return services
    }
}
