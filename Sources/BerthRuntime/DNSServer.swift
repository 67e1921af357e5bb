import BerthAPI
import NIOCore
import NIOPosix

/// The cluster DNS (CoreDNS's job for one node): a UDP server on the bridge
/// address answering A queries for Services from a table the orchestrator
/// replaces with `setServices`. Authoritative only; nothing is forwarded
/// upstream.
public actor DNSServer {
    private var table: DNSNameTable
    private var channel: (any Channel)?
    private var loop: Task<Void, Never>?
    public private(set) var boundPort: Int?

    public init(clusterDomain: String = "cluster.local") {
        table = DNSNameTable(clusterDomain: clusterDomain)
    }

    /// Binds `host:port` (port 0 picks a free one, for tests) and starts answering.
    public func start(host: String, port: Int = 53) async throws {
        guard channel == nil else { return }
        typealias Envelope = AddressedEnvelope<ByteBuffer>
        let async: NIOAsyncChannel<Envelope, Envelope>
        do {
            async = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<Envelope, Envelope>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw BerthError(.runtime, "the cluster DNS cannot listen on \(host):\(port)", cause: error)
        }
        channel = async.channel
        boundPort = async.channel.localAddress?.port
        loop = Task { [weak self] in
            try? await async.executeThenClose { inbound, outbound in
                for try await envelope in inbound {
                    guard let self else { return }
                    var data = envelope.data
                    let bytes = data.readBytes(length: data.readableBytes) ?? []
                    guard let reply = await self.answer(bytes) else { continue }
                    try await outbound.write(Envelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                }
            }
        }
    }

    func answer(_ bytes: [UInt8]) -> [UInt8]? { table.answer(bytes) }

    /// Replaces the name table (Services with a ClusterIP get names).
    public func setServices(_ services: [ServiceEntry]) {
        table = DNSNameTable(clusterDomain: table.clusterDomain, services: services)
    }

    public func stop() async {
        try? await channel?.close()
        channel = nil
        await loop?.value
        loop = nil
    }
}
