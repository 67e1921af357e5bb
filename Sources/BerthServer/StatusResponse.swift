import BerthAPI
import Foundation
import Hummingbird

/// Kubernetes' `Status` object, the shape every API error takes so that
/// kubectl-style clients can show `reason` and `message`.
enum StatusResponse {
    static func httpStatus(for code: BerthError.Code) -> (HTTPResponse.Status, String) {
        switch code {
        case .notFound, .unsupportedKind: return (.notFound, "NotFound")
        case .alreadyExists, .duplicateObject: return (.conflict, "AlreadyExists")
        case .conflict: return (.conflict, "Conflict")
        case .invalidArgument, .invalidManifest: return (.unprocessableContent, "Invalid")
        case .unauthorized: return (.unauthorized, "Unauthorized")
        case .forbidden: return (.forbidden, "Forbidden")
        case .timeout: return (.gatewayTimeout, "Timeout")
        case .unavailable: return (.serviceUnavailable, "ServiceUnavailable")
        default: return (.internalServerError, "InternalError")
        }
    }

    static func failure(_ error: BerthError, kind: String? = nil, name: String? = nil) -> Response {
        let (status, reason) = httpStatus(for: error.code)
        var details: [String: JSONValue] = [:]
        if let kind { details["kind"] = .string(kind) }
        if let name { details["name"] = .string(name) }
        var body: [String: JSONValue] = [
            "apiVersion": "v1", "kind": "Status", "metadata": [:], "status": "Failure",
            "message": .string(error.description), "reason": .string(reason), "code": .int(status.code),
            "berthCode": .string(error.code.rawValue),
        ]
        if !details.isEmpty { body["details"] = .object(details) }
        return json(.object(body), status: status)
    }

    static func success(_ message: String, details: [String: JSONValue] = [:]) -> Response {
        json(
            [
                "apiVersion": "v1", "kind": "Status", "metadata": [:], "status": "Success",
                "message": .string(message), "code": 200, "details": .object(details),
            ], status: .ok)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var data = value.canonicalJSON()
        data.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
