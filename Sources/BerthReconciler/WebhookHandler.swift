import BerthAPI
import BerthGit
import Foundation
import Logging

/// The webhook endpoint's logic without HTTP: which source a delivery is
/// for, whether it is authentic, and whether it queues a sync.
///
/// Closed by default: a source without a webhook secret refuses every
/// delivery (403); a bad signature is a 401 that does not say what was
/// wrong. A replayed delivery is harmless: it only queues a sync, which
/// collapses with any pending one and is idempotent.
public struct WebhookHandler: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: JSONValue
    }

    /// Largest body accepted (GitHub's limit is 25 MB; pushes are far smaller).
    public static let defaultMaxBodySize = 1 << 20

    let reconciler: Reconciler
    let logger: Logger

    public init(reconciler: Reconciler, logger: Logger = Logger(label: "berth.webhook")) {
        self.reconciler = reconciler
        self.logger = logger
    }

    /// - Parameters:
    ///   - headers: lower-case names.
    ///   - sourceName: the `?source=` query parameter.
    public func handle(provider: WebhookProvider, headers: [String: String], body: Data, sourceName: String?) async -> Response {
        let response = await respond(provider: provider, headers: headers, body: body, sourceName: sourceName)
        reconciler.metrics.recordWebhook(provider: provider.rawValue, result: Self.resultLabel(response))
        return response
    }

    static func resultLabel(_ response: Response) -> String {
        switch response.status {
        case 202: return response.body["ignored"] != nil ? "ignored" : "queued"
        case 200: return "ping"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 413: return "too_large"
        default: return "bad_request"
        }
    }

    /// The 413 for a body over `limit` (counted in the metrics).
    public func tooLarge(provider: WebhookProvider, limit: Int) -> Response {
        let response = Response(status: 413, body: ["error": .string("payload larger than \(limit) bytes")])
        reconciler.metrics.recordWebhook(provider: provider.rawValue, result: Self.resultLabel(response))
        return response
    }

    private func respond(provider: WebhookProvider, headers: [String: String], body: Data, sourceName: String?) async -> Response {
        let payload = try? JSONDecoder().decode(JSONValue.self, from: body)
        // 1. Which sources.
        var candidates: [SourceConfig]
        if let sourceName, !sourceName.isEmpty {
            guard let source = reconciler.config.source(named: sourceName) else {
                return Response(status: 404, body: ["error": .string("no source named \(sourceName)")])
            }
            candidates = [source]
        } else {
            let urls = payload.map { Self.repositoryURLs(in: $0, provider: provider) } ?? []
            var seen: Set<String> = []
            candidates = urls.flatMap { reconciler.sources(matchingRepository: $0) }.filter { seen.insert($0.name).inserted }
            if candidates.isEmpty {
                return Response(status: 404, body: ["error": .string("no source tracks this repository; address one with ?source=NAME")])
            }
        }
        // 2. Closed without a secret.
        let withSecret = candidates.filter { $0.webhookSecret != nil }
        if withSecret.isEmpty {
            return Response(status: 403, body: ["error": .string("webhooks are not enabled for this source (no webhook secret configured)")])
        }
        // 3. Authentic?
        let verified = withSecret.filter { source in
            guard let secretSource = source.webhookSecret else { return false }
            do {
                let secret = try secretSource.read()
                return WebhookSignature.verify(provider: provider, headers: headers, body: body, secret: secret)
            } catch {
                logger.error("webhook secret of \(source.name) is unreadable (\(secretSource)): refusing deliveries")
                return false
            }
        }
        if verified.isEmpty {
            logger.info("webhook refused: bad signature", metadata: ["provider": "\(provider.rawValue)"])
            return Response(status: 401, body: ["error": "unauthorized"])
        }
        // 4. What happened.
        let event = Self.event(provider: provider, headers: headers)
        if provider == .github && event == "ping" {
            return Response(status: 200, body: ["ok": "pong", "sources": .array(verified.map { .string($0.name) })])
        }
        if let event, !Self.isPush(provider: provider, event: event) {
            return Response(status: 202, body: ["ignored": .string("event \(event) is not a push")])
        }
        guard payload != nil || provider == .generic else {
            return Response(status: 400, body: ["error": "the payload is not JSON"])
        }
        let pushedRef = payload?["ref"]?.stringValue
        var queued: [JSONValue] = []
        var reasons: [String] = []
        for source in verified {
            if let reason = WebhookRefMatch.ignoreReason(sourceRef: source.ref, pushedRef: pushedRef) {
                reasons.append(verified.count > 1 ? "\(source.name): \(reason)" : reason)
                continue
            }
            do {
                let id = try await reconciler.sync(source: source.name, trigger: .webhook)
                queued.append(["source": .string(source.name), "sync": .int(Int(id))])
                logger.info("webhook queued sync #\(id) of \(source.name)", metadata: ["provider": "\(provider.rawValue)", "ref": "\(pushedRef ?? "-")"])
            } catch {
                return Response(status: 500, body: ["error": .string("cannot queue a sync: \(error)")])
            }
        }
        if queued.isEmpty {
            return Response(status: 202, body: ["ignored": .string(reasons.joined(separator: "; "))])
        }
        return Response(status: 202, body: ["queued": .array(queued), "sync": queued[0]["sync"] ?? .null])
    }

    static func event(provider: WebhookProvider, headers: [String: String]) -> String? {
        switch provider {
        case .github: headers["x-github-event"]
        case .gitea: headers["x-gitea-event"] ?? headers["x-github-event"]
        case .gitlab: headers["x-gitlab-event"]
        case .generic: headers["x-event"]
        }
    }

    static func isPush(provider: WebhookProvider, event: String) -> Bool {
        switch provider {
        case .gitlab: event == "Push Hook" || event == "Tag Push Hook"
        default: event == "push"
        }
    }

    /// Every repository URL a payload names.
    static func repositoryURLs(in payload: JSONValue, provider: WebhookProvider) -> [String] {
        var urls: [String] = []
        let repository = payload["repository"]
        if let text = repository?.stringValue { urls.append(text) }
        for field in ["clone_url", "html_url", "ssh_url", "git_url", "url", "git_http_url", "git_ssh_url", "homepage"] {
            if let text = repository?[field]?.stringValue { urls.append(text) }
            if let text = payload["project"]?[field]?.stringValue { urls.append(text) }
        }
        if let text = payload["project"]?["web_url"]?.stringValue { urls.append(text) }
        return urls
    }
}
