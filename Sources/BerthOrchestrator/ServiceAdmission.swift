import BerthAPI

/// The checks the API runs on a Service before storing it, so that a
/// NodePort conflict is an error on apply (as the Kubernetes API server's
/// allocator makes it) rather than a Warning Event found later.
///
/// Pure: the caller passes the NodePorts already allocated (with their
/// holders) and the Services already stored, whose explicit nodePorts may
/// not be allocated yet.
public enum ServiceAdmission {
    /// Throws when an explicit `nodePort` of `service` is outside `range`,
    /// repeated within the Service, held by another Service's allocation, or
    /// asked for by another stored Service.
    public static func checkNodePorts(_ service: BerthAPI.Service, range: ClosedRange<Int>, holders: [Int: String],
                                      services: [BerthAPI.Service]) throws {
        let me = "\(service.metadata.namespace ?? "default")/\(service.metadata.name)"
        let object = "Service/\(me)"
        let rangeText = "\(range.lowerBound)–\(range.upperBound)"
        var mine: [Int: Int] = [:]
        for (i, port) in (service.spec.ports ?? []).enumerated() {
            guard let nodePort = port.nodePort else { continue }
            let field = "spec.ports[\(i)].nodePort"
            guard ServiceController.wantsNodePorts(service) else {
                throw BerthError(.invalidArgument, "\(field): may not be used when type is \(service.spec.type ?? "ClusterIP")",
                                 hint: "set type: NodePort or remove nodePort", object: object)
            }
            guard range.contains(nodePort) else {
                throw BerthError(.invalidArgument, "\(field): \(nodePort) is outside the node port range \(rangeText)",
                                 hint: "choose a port in \(rangeText), or leave nodePort out to get a free one", object: object)
            }
            if let other = mine[nodePort] {
                throw BerthError(.invalidArgument, "\(field): \(nodePort) is already used by spec.ports[\(other)] of the same Service",
                                 hint: "give every port its own nodePort", object: object)
            }
            mine[nodePort] = i
            var holder = holders[nodePort].flatMap { $0 == me ? nil : $0 }
            if holder == nil {
                holder = services.first { other in
                    let key = "\(other.metadata.namespace ?? "default")/\(other.metadata.name)"
                    return key != me && other.metadata.deletionTimestamp == nil
                        && ServiceController.wantsNodePorts(other) && (other.spec.ports ?? []).contains { $0.nodePort == nodePort }
                }.map { "\($0.metadata.namespace ?? "default")/\($0.metadata.name)" }
            }
            if let holder {
                throw BerthError(.conflict, "\(field): nodePort \(nodePort) is already allocated to Service \(holder)",
                                 hint: "choose another nodePort in \(rangeText), or leave it out to get a free one", object: object)
            }
        }
    }
}
