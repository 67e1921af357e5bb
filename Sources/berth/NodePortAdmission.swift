import BerthAPI
import BerthOrchestrator
import BerthServer
import BerthStore

/// The API's NodePort check for `berth serve`: the allocations the node's
/// Services dataplane holds plus the Services already stored, so that an
/// apply asking for a taken or out-of-range nodePort fails with the holder
/// named (see `ServiceAdmission`).
struct NodePortAdmission: AdmissionCheck {
    let store: Store
    let networking: any ServiceNetworking
    let range: ClosedRange<Int>

    func admit(_ object: JSONValue, kind: ResourceKind) async throws {
        guard kind == .service else { return }
        let service: BerthAPI.Service
        do {
            service = try object.decode()
        } catch {
            return  // Not a well-formed Service: the store's own validation answers.
        }
        guard (service.spec.ports ?? []).contains(where: { $0.nodePort != nil }) else { return }
        let stored = try await store.list(.service).items.compactMap { try? $0.object.decode(BerthAPI.Service.self) }
        try ServiceAdmission.checkNodePorts(service, range: range, holders: try await networking.nodePortHolders(), services: stored)
    }
}
