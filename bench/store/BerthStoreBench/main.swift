// Applies N ConfigMap-sized objects through BerthStore and reports the time;
// writes the rows it stored as JSON lines so that bench/store/run can insert
// exactly the same rows with plain SQLite for comparison.
//
//   BerthStoreBench DATA_DIR COUNT ROWS_OUT
import BerthAPI
import BerthStore
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: BerthStoreBench DATA_DIR COUNT ROWS_OUT\n".utf8))
    exit(2)
}
let dataDirectory = arguments[1]
let rowsOut = arguments[3]

func object(_ index: Int, generation: Int) -> JSONValue {
    [
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": [
            "name": .string("config-\(index)"), "namespace": "default",
            "labels": ["app": .string("app-\(index % 10)"), "berth.dev/source": "bench"],
        ],
        "data": [
            "index": .string(String(index)), "generation": .string(String(generation)),
            "payload": .string(String(repeating: "x", count: 200)),
        ],
    ]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let store = try Store(dataDirectory: dataDirectory)
let clock = ContinuousClock()
let objects = (0..<count).map { object($0, generation: 1) }

// 1. Create N objects in ONE transaction (how the reconciler applies a plan).
let oneTransaction = try await clock.measure {
    try await store.transaction { tx in
        for tree in objects { try tx.apply(tree) }
    }
}

// 2. Update the same N objects, one transaction each (how controllers write).
let updates = (0..<count).map { object($0, generation: 2) }
let perObject = try await clock.measure {
    for tree in updates { try await store.apply(tree) }
}

// 3. Re-apply unchanged objects in one transaction (a no-op sync).
let unchanged = try await clock.measure {
    try await store.transaction { tx in
        for tree in updates { try tx.apply(tree) }
    }
}

// The rows as stored, for the plain-SQLite baseline.
let stored = try await store.list(.configMap, namespace: "default").items
var lines = ""
for item in stored {
    let row: JSONValue = [
        "api_version": .string(item.key.apiVersion), "kind": .string(item.key.kind),
        "namespace": .string(item.key.namespace), "name": .string(item.key.name), "uid": .string(item.uid),
        "resource_version": .int(Int(item.resourceVersion)), "generation": .int(Int(item.generation)),
        "creation_timestamp": .string(item.creationTimestamp),
        "body": .string(String(decoding: item.object.canonicalJSON(), as: UTF8.self)),
    ]
    lines += String(decoding: row.canonicalJSON(), as: UTF8.self) + "\n"
}
try lines.write(toFile: rowsOut, atomically: true, encoding: .utf8)

print(String(format: "store_create_one_tx_s=%.4f", seconds(oneTransaction)))
print(String(format: "store_update_per_object_tx_s=%.4f", seconds(perObject)))
print(String(format: "store_noop_apply_one_tx_s=%.4f", seconds(unchanged)))
print("objects=\(stored.count)")
