import Hummingbird
import Synchronization

/// The router's paths and methods, filled once the routes are registered, so that a request for a
/// known path with another method is answered 405 with `Allow` rather than 404.
final class RouteTable: Sendable {
    private let entries = Mutex<[(segments: [Substring], method: String)]>([])

    func fill<Context>(from router: Router<Context>) {
        let routes = router.routes.map { route in
            (segments: route.path.description.split(separator: "/"), method: route.method.rawValue)
        }
        entries.withLock { $0 = routes }
    }

    /// The methods routed for a concrete path (`:param` segments match anything).
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        let methods = entries.withLock { entries in
            entries.filter { entry in
                entry.segments.count == parts.count
                    && zip(entry.segments, parts).allSatisfy { template, part in
                        template.hasPrefix(":") || template.hasPrefix("{") || template == part
                    }
            }.map(\.method)
        }
        return Array(Set(methods)).sorted()
    }
}
