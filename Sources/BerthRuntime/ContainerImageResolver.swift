/// The image store is what resolves `berth run IMAGE`: the container leases
/// the layers (lease id = container id) so `image rm` + `prune` keep them
/// until the container is removed.
extension ImageStore: ImageResolver {
    public func resolveImage(_ reference: String, leaseID: String) async throws -> ContainerImage {
        let r = try await resolve(reference, leaseID: leaseID)
        return ContainerImage(
            reference: r.reference, digest: r.digest, layers: r.layerPaths, env: r.config.env ?? [],
            entrypoint: r.config.entrypoint ?? [], cmd: r.config.cmd ?? [], user: r.config.user,
            workingDir: r.config.workingDir)
    }

    public func releaseImage(leaseID: String) async throws {
        try await releaseLease(leaseID)
    }

    public nonisolated func leaseFile(leaseID: String) -> String? {
        ImageStoreEngine.validLeaseID(leaseID) ? engine.leasesDir + "/" + leaseID : nil
    }
}
