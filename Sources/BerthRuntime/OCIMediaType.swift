/// The media types Berth reads and writes. Docker's v2 schema 2 types are
/// accepted on import because `docker save` and older registries still use
/// them; everything Berth writes itself is OCI.
public enum OCIMediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

    static func isIndex(_ type: String?) -> Bool { type == imageIndex || type == dockerManifestList }
    static func isManifest(_ type: String?) -> Bool { type == imageManifest || type == dockerManifest }

    static func isLayer(_ type: String) -> Bool {
        [layerTar, layerTarGzip, layerTarZstd, dockerLayerTar, dockerLayerTarGzip,
         "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
         "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"].contains(type)
    }
}
