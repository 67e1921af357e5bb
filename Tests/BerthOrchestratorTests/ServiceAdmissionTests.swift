import BerthAPI
import BerthOrchestrator
import Foundation
import Testing

/// The API's NodePort check (pure): range, duplicates, holders by allocation and by stored spec.
@Suite struct ServiceAdmissionTests {
    func service(_ name: String, type: String = "NodePort", nodePorts: [Int?]) -> BerthAPI.Service {
        BerthAPI.Service(metadata: ObjectMeta(name: name, namespace: "default"),
                         spec: ServiceSpec(type: type, selector: ["app": name],
                                           ports: nodePorts.enumerated().map { ServicePort(name: "p\($0.offset)", port: 80 + $0.offset, nodePort: $0.element) }))
    }

    func refusal(_ body: () throws -> Void) -> BerthError? {
        do { try body() } catch let e as BerthError { return e } catch { return nil }
        return nil
    }

    @Test func freeAndOwnPortsPass() throws {
        try ServiceAdmission.checkNodePorts(service("a", nodePorts: [30080, nil]), range: 30000...32767, holders: [:], services: [])
        // Re-applying the holder itself is fine, by allocation and by stored spec.
        try ServiceAdmission.checkNodePorts(service("a", nodePorts: [30080]), range: 30000...32767,
                                            holders: [30080: "default/a"], services: [service("a", nodePorts: [30080])])
    }

    @Test func portHeldByAnotherServiceIsNamed() {
        let byAllocation = refusal {
            try ServiceAdmission.checkNodePorts(service("b", nodePorts: [30080]), range: 30000...32767, holders: [30080: "default/a"], services: [])
        }
        #expect(byAllocation?.code == .conflict)
        #expect(byAllocation?.message.contains("30080") == true && byAllocation?.message.contains("Service default/a") == true)
        // Asked for by a stored Service whose allocation has not happened yet.
        let bySpec = refusal {
            try ServiceAdmission.checkNodePorts(service("b", nodePorts: [30081]), range: 30000...32767, holders: [:],
                                                services: [service("a", nodePorts: [30081])])
        }
        #expect(bySpec?.message.contains("Service default/a") == true)
        // A ClusterIP Service's stale nodePort field does not hold anything.
        #expect(refusal {
            try ServiceAdmission.checkNodePorts(service("b", nodePorts: [30082]), range: 30000...32767, holders: [:],
                                                services: [service("a", type: "ClusterIP", nodePorts: [30082])])
        } == nil)
    }

    @Test func outOfRangeDuplicateAndWrongTypeAreRefused() {
        let outside = refusal { try ServiceAdmission.checkNodePorts(service("a", nodePorts: [40000]), range: 30000...32767, holders: [:], services: []) }
        #expect(outside?.code == .invalidArgument)
        #expect(outside?.message.contains("40000") == true && outside?.message.contains("30000–32767") == true)
        let twice = refusal { try ServiceAdmission.checkNodePorts(service("a", nodePorts: [30090, 30090]), range: 30000...32767, holders: [:], services: []) }
        #expect(twice?.message.contains("spec.ports[0]") == true)
        let wrongType = refusal {
            try ServiceAdmission.checkNodePorts(service("a", type: "ClusterIP", nodePorts: [30090]), range: 30000...32767, holders: [:], services: [])
        }
        #expect(wrongType?.message.contains("type") == true)
    }
}
