import Foundation

/// The file `berth-shim` reads before it clones: NUL-terminated key/value
/// strings (see shim.c `load_config`). A flat format because the C side must
/// parse it without a JSON library, and NUL cannot occur in argv, env or paths.
struct ShimConfig {
    private(set) var data = Data()

    mutating func add(_ key: String, _ value: String) {
        data.append(contentsOf: Array(key.utf8))
        data.append(0)
        data.append(contentsOf: Array(value.utf8))
        data.append(0)
    }

    mutating func add(_ key: String, _ values: [String]) {
        for v in values { add(key, v) }
    }

    /// The credential part shared by `run` and `exec`.
    mutating func addProcess(spec: ContainerSpec, argv: [String], env: [String], cwd: String, seccompPath: String) {
        add("arg", argv)
        add("env", env)
        add("cwd", cwd)
        add("uid", String(spec.uid))
        add("gid", String(spec.gid))
        add("group", spec.additionalGids.map(String.init))
        let caps = spec.capabilities.mask
        add("cap_bnd", String(caps, radix: 16))
        // Like Docker: a non-root user starts with no effective capabilities.
        let effective = spec.uid == 0 ? caps : 0
        add("cap_prm", String(effective, radix: 16))
        add("cap_eff", String(effective, radix: 16))
        add("nnp", spec.noNewPrivileges ? "1" : "0")
        add("seccomp", seccompPath)
    }

    func write(to path: String) throws {
        try ContainerManager.writeFile(path, [UInt8](data))
    }
}
