import BerthAPI
import BerthStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs Berth's long-lived parts under swift-service-lifecycle: the HTTP API
/// and whatever services other modules add (orchestrator controllers, the
/// reconciler), in ONE `ServiceGroup`, so that SIGTERM/SIGINT shut them all
/// down gracefully and a failing service takes the process down instead of
/// leaving it half alive.
///
/// Graceful shutdown stops serving and returns; it never touches containers
/// (a restart of `berth serve` must not restart healthy workloads).
public struct BerthServe: Sendable {
    public var dataDirectory: String
    public var host: String
    public var port: Int
    public var logger: Logger

    public init(dataDirectory: String, host: String = "127.0.0.1", port: Int = 7480, logger: Logger = Logger(label: "berth")) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Opens the store, makes the token, builds the API and runs everything
    /// until a signal or a failure.
    ///
    /// - Parameters:
    ///   - storeOptions: e.g. other modules' migrations.
    ///   - services: called with the opened store and the API server; returns
    ///     the extra services to run (the hook for controllers and the
    ///     reconciler) and may set `api.logProvider` / `api.routeProviders`.
    public func run(
        storeOptions: Store.Options = Store.Options(),
        services: @Sendable (Store, inout APIServer) throws -> [any ServiceLifecycle.Service] = { _, _ in [] },
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        MallocTuning.apply()
        let store = try Store(dataDirectory: dataDirectory, options: storeOptions)
        let token = try APIToken.loadOrCreate(dataDirectory: dataDirectory)
        var api = APIServer(store: store, token: token, logger: logger)
        let extra = try services(store, &api)
        let app = api.makeApplication(host: host, port: port, onListening: onListening)
        let group = ServiceGroup(
            configuration: .init(
                services: [app] + extra,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info("berth serving", metadata: ["dataDir": "\(dataDirectory)", "store": "\(store.path)"])
        try await group.run()
        logger.info("berth stopped")
    }
}
