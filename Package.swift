// swift-tools-version: 6.1
//
// Berth — one program from a git repository of Kubernetes YAML to running,
// health-checked containers. The module graph is in ../shared/DESIGN.md.
//
// Each area keeps its targets in its own section below, so that work on one
// area never has to touch the lines of another.
import PackageDescription

var targets: [Target] = []
var berthDependencies: [Target.Dependency] = [
    "BerthAPI",
    .product(name: "ArgumentParser", package: "swift-argument-parser"),
]

// MARK: - System libraries
//
// Debian's headers and libraries sit on the default search paths, so the
// module maps need no pkg-config flags. pkg-config would also put
// `-L/usr/lib/x86_64-linux-gnu` first on the link line, where it would beat
// the release build's directory of static archives (see "Release linking").

targets += [
    .systemLibrary(name: "CGit2"),
    .systemLibrary(name: "CArchive"),
    .systemLibrary(name: "CSeccomp"),
    .systemLibrary(name: "CCap"),
    // Release only: libgit2's Negotiate (Kerberos) auth without libgssapi_krb5.
    .target(name: "CGitNoGSSAPI", cSettings: [.define("BERTH_STATIC_LIBGIT2", .when(configuration: .release))]),
]

// MARK: - Release linking
//
// A CLI start is mostly the loader's work: the dynamic build of `berth` maps
// 34 shared libraries (libgit2 and libarchive bring krb5, ICU, libxml2,
// OpenSSL, ...), which costs ~10 ms per `berth run` and ~14 MB of serve's RSS.
// `make release` links the C libraries statically instead: it fills
// .build/static-libs with links to Debian's libgit2.a, libarchive.a,
// libseccomp.a, libcap.a and libsqlite3.a, and GCC's libstdc++.a (the Swift
// runtime's C++ library: its loading alone was ~2.5 ms of `berth version`),
// and since that directory comes first on the search path, the module maps'
// `link "git2"` and swiftc's `-lstdc++` (etc.) resolve to the archives. The archives' own dependencies follow as static archives
// too; libacl has none in Debian and stays shared. lld (shipped with Swift)
// does not care about archive order and packs the PIE's 145 k relative
// relocations (DT_RELR); no `--export-dynamic` keeps .dynsym small, which is
// what dladdr() scans. Without .build/static-libs (a plain `swift build -c
// release`) the same flags give the dynamic build: unused archives add nothing.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-L", Context.packageDirectory + "/.build/static-libs",
         "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
            + ["mbedtls", "mbedx509", "mbedcrypto", "http_parser", "ssh2", "crypto", "pcre2-8",
               "nettle", "lzma", "zstd", "bz2", "z"].flatMap { ["-Xlinker", "-l:lib\($0).a"] }
            + ["-Xlinker", "-l:libacl.so.1"],
        .when(configuration: .release)),
]

// MARK: - API (vocabulary, no I/O)

targets += [
    .target(name: "BerthAPI"),
    .testTarget(name: "BerthAPITests", dependencies: ["BerthAPI"]),
]

// MARK: - Git

targets += [
    .target(name: "BerthGit", dependencies: ["BerthAPI", "CGit2", "CGitNoGSSAPI"]),
    .testTarget(name: "BerthGitTests", dependencies: ["BerthGit", "BerthAPI", "BerthTestSupport"]),
]
berthDependencies += ["BerthGit"]

// MARK: - Manifests and plan

targets += [
    .target(
        name: "BerthManifests",
        dependencies: ["BerthAPI", .product(name: "Yams", package: "Yams")]
    ),
    .testTarget(
        name: "BerthManifestsTests",
        dependencies: ["BerthManifests"],
        exclude: ["Fixtures"]
    ),
]
berthDependencies += ["BerthManifests"]

// MARK: - Store

targets += [
    .target(
        name: "BerthStore",
        dependencies: [
            "BerthAPI",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .testTarget(name: "BerthStoreTests", dependencies: ["BerthStore"]),
    // bench/store/run: the store's apply path against plain SQLite inserts.
    .executableTarget(
        name: "BerthStoreBench", dependencies: ["BerthStore", "BerthAPI"], path: "bench/store/BerthStoreBench"),
]
berthDependencies += ["BerthStore"]

// MARK: - Runtime

targets += [
    // The C side of containers: clone, mounts, pivot_root, credentials, seccomp, exec.
    .target(name: "CBerthLinux"),
    // The per-container monitor (conmon's job); spawned by BerthRuntime.
    .executableTarget(name: "berth-shim", dependencies: ["CBerthLinux"]),
    .testTarget(name: "BerthRuntimeRootTests", dependencies: ["BerthRuntime", "BerthAPI", "BerthTestSupport"]),
]
targets += [
    .target(
        name: "BerthRuntime",
        dependencies: [
            "BerthAPI", "CArchive", "CSeccomp", "CCap", "CBerthLinux",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Crypto", package: "swift-crypto"),
            // Pod network: the cluster DNS server (UDP).
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            // Registry client.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]
    ),
    .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime", "BerthAPI"]),
]
berthDependencies += ["BerthRuntime"]
// The CLI's API client (Sources/berth/APIClient.swift): async-http-client, not
// URLSession, so that the binary does not load FoundationNetworking + libcurl.
berthDependencies += [
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
]
targets += [
    // Pod network and Services (bridge, veth, IPAM, nftables, DNS): real, as root.
    .testTarget(name: "BerthNetworkRootTests", dependencies: ["BerthRuntime", "BerthAPI"]),
    // Root: Services end to end through the real `berth serve` with busybox pods
    // (DNS names, ClusterIP, NodePort, load spreading, restart, cleanup).
    .testTarget(name: "BerthServicesEndToEndTests", dependencies: ["BerthTestSupport"]),
]

// MARK: - Test support

targets += [
    // The real `berth serve` subprocess harness every end-to-end target shares
    // (isolated data dir, port, bridge, CIDRs, nftables tables; full cleanup).
    // Foundation only: it tests the built binary, not the modules.
    .target(name: "BerthTestSupport", path: "Tests/BerthTestSupport"),
]

// MARK: - Registry (pull/push against a real docker-registry)

targets += [
    .testTarget(
        name: "BerthRegistryTests",
        dependencies: [
            "BerthRuntime", "BerthAPI", "BerthTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]
    ),
]

// MARK: - Orchestrator

targets += [
    .target(
        name: "BerthOrchestrator",
        dependencies: [
            "BerthAPI", "BerthRuntime", "BerthStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // HTTPS probes (TLS without certificate verification, as Kubernetes).
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]
    ),
    .testTarget(
        name: "BerthOrchestratorTests",
        dependencies: [
            "BerthOrchestrator", "BerthAPI", "BerthRuntime", "BerthStore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    // Root: runs the real `berth serve` with real containers (needs the berth executable built).
    .testTarget(name: "BerthOrchestratorEndToEndTests", dependencies: ["BerthTestSupport"]),
]
berthDependencies += ["BerthOrchestrator"]

// MARK: - Reconciler

targets += [
    .target(
        name: "BerthReconciler",
        dependencies: [
            "BerthAPI", "BerthManifests", "BerthGit", "BerthStore",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]
    ),
    .testTarget(
        name: "BerthReconcilerTests",
        dependencies: [
            "BerthReconciler", "BerthAPI", "BerthManifests", "BerthGit", "BerthStore", "BerthServer",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    // Needs root, the Linux runtime wired into `berth serve`, and busybox-static:
    // runs the built `berth` binary as a subprocess against a temp git repository.
    .testTarget(
        name: "BerthEndToEndTests",
        dependencies: ["BerthTestSupport", .product(name: "Crypto", package: "swift-crypto")]
    ),
]
berthDependencies += ["BerthReconciler"]

// MARK: - Server

targets += [
    .target(
        name: "BerthServer",
        dependencies: [
            "BerthAPI", "BerthStore",
            "BerthReconciler",  // reconciler: webhooks, sources/syncs API, /metrics
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .testTarget(name: "BerthServerTests", dependencies: ["BerthServer", "BerthStore", "BerthTestSupport"]),
]
berthDependencies += ["BerthServer", .product(name: "Yams", package: "Yams")]

// MARK: - CLI

targets += [
    .executableTarget(name: "berth", dependencies: berthDependencies, linkerSettings: releaseLinking),
    // The CLI's own parsing (`berth run`'s fast path against ArgumentParser).
    .testTarget(name: "BerthCLITests", dependencies: ["berth"]),
]

let package = Package(
    name: "berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-shim", targets: ["berth-shim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
