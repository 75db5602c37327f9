import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardStorage

/// Media: `POST /api/v1/media` keeps a file for outbound messages, `GET /api/v1/media/{id}` serves
/// any kept file with the API token, and `GET /media/{id}?expires=&signature=` serves it to
/// whoever holds a signed URL (a provider fetching an MMS picture, the console's `<img>`).
struct MediaRoutes: Sendable {
    let directory: MediaDirectory
    let signer: MediaURLSigner
    let maxBytes: Int
    let logger: Logger
    let now: @Sendable () -> Date

    /// `{"id", "url", "mimeType", "size", "name"?}`: `url` is the signed public URL.
    struct Created: Encodable {
        var id: String
        var url: String
        var mimeType: String
        var size: Int
        var name: String?
    }

    func add(to router: Router<GatewayRequestContext>, apiToken: String?) {
        let api = router.group("api/v1/media").add(middleware: BearerTokenMiddleware(token: apiToken))
        api.post { request, _ -> Response in
            let item = try await receive(request)
            var response = try jsonResponse(
                Created(id: item.id, url: signer.url(for: item.id, now: now()), mimeType: item.mimeType, size: item.size, name: item.name),
                status: .created)
            response.headers[.location] = "/api/v1/media/\(item.id)"
            return response
        }
        api.get(":id") { _, context -> Response in
            try await serve(try context.parameters.require("id"), context: context, cache: "private, max-age=3600")
        }
        router.get("media/:id") { request, context -> Response in
            let id = try context.parameters.require("id")
            let query = request.uri.queryParameters
            switch signer.check(id: id, expires: query["expires"].map(String.init), signature: query["signature"].map(String.init), now: now()) {
            case nil:
                return try await serve(id, context: context, cache: "public, max-age=300")
            case .malformed:
                throw GatewayError(.forbidden, code: "bad_signature", message: "a media URL needs expires and signature (as the gateway issued it)")
            case .badSignature:
                throw GatewayError(.forbidden, code: "bad_signature", message: "the media URL's signature does not match")
            case .expired:
                throw GatewayError(.forbidden, code: "url_expired", message: "the media URL has expired; ask the API for the file")
            }
        }
    }

    /// Streams the body into the media directory: 415 for a type the gateway does not keep or
    /// contents that are not that type, 413 past `maxBytes` (checked on Content-Length first, then
    /// as bytes arrive). Nothing is kept unless the whole file is.
    func receive(_ request: Request) async throws -> StoredMedia {
        let contentType = request.headers[.contentType]
        if let contentType, contentType.lowercased().hasPrefix("multipart/form-data") {
            return try await receiveForm(request, contentType: contentType)
        }
        if contentType?.lowercased().hasPrefix("multipart/") == true {
            throw GatewayError(.unsupportedMediaType, code: "unsupported_media_type", message: "a multipart upload is multipart/form-data")
        }
        guard let mediaType = MediaRules.mediaType(fromContentType: contentType) else {
            throw GatewayError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the file with its Content-Type")
        }
        if let refusal = MediaRules.check(type: mediaType) { throw Self.error(refusal) }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw Self.error(.tooLarge(limit: maxBytes))
        }
        let name = try Self.checkedName(request.uri.queryParameters["name"].map(String.init))
        let file: MediaDirectory.Writer
        do {
            file = try directory.newFile(at: now())
        } catch {
            logger.error("media directory not writable", metadata: ["error": "\(error)"])
            throw GatewayError(.serviceUnavailable, code: "storage_unavailable", message: "the media directory cannot be written")
        }
        do {
            // The signature is checked as soon as the first bytes are in: a wrong file is refused
            // before the rest of it is written.
            var sniffed = false
            for try await buffer in request.body {
                guard file.size + buffer.readableBytes <= maxBytes else { throw Self.error(.tooLarge(limit: maxBytes)) }
                try file.append(buffer.readableBytesView)
                if !sniffed, file.head.count >= MediaRules.sniffLength {
                    sniffed = true
                    if let refusal = MediaRules.check(firstBytes: file.head, type: mediaType) { throw Self.error(refusal) }
                }
            }
            guard file.size > 0 else { throw Self.error(.empty) }
            if !sniffed, let refusal = MediaRules.check(firstBytes: file.head, type: mediaType) { throw Self.error(refusal) }
            let item = try file.keep(mimeType: mediaType, name: name, origin: "upload", at: now())
            logger.info("media kept", metadata: ["media_id": "\(item.id)", "mime_type": "\(mediaType)", "size": "\(item.size)"])
            return item
        } catch let error as MediaDirectory.Failure {
            file.discard()
            logger.error("media not kept", metadata: ["error": "\(error)"])
            throw GatewayError(.serviceUnavailable, code: "storage_unavailable", message: "the media directory cannot be written")
        } catch {
            file.discard()
            throw error
        }
    }

    /// A form upload (`curl -F file=@photo.png`): the first file part, with its own Content-Type
    /// and file name, under the same rules as a raw body. The form is read whole, so it is bounded
    /// by `maxBytes` and a little for the part's headers.
    func receiveForm(_ request: Request, contentType: String) async throws -> StoredMedia {
        guard let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
            throw GatewayError(.badRequest, code: "malformed_body", message: MultipartFormData.Problem.noBoundary.message)
        }
        var request = request
        let buffer = try await request.collectBody(upTo: maxBytes + 16 * 1024)
        let part: MultipartFormData.File
        do {
            part = try MultipartFormData.firstFile(in: Array(buffer.readableBytesView), boundary: boundary)
        } catch {
            throw GatewayError(.badRequest, code: "malformed_body", message: error.message)
        }
        guard !part.bytes.isEmpty else { throw Self.error(.empty) }
        // A part without a useful type (curl sends none for an unknown extension) is typed by its
        // signature; a declared type must then match its bytes as a raw upload's does.
        let declared = MediaRules.mediaType(fromContentType: part.contentType).flatMap { $0 == "application/octet-stream" ? nil : $0 }
        guard let mediaType = declared ?? MediaRules.sniffedType(firstBytes: Array(part.bytes.prefix(MediaRules.sniffLength))) else {
            throw GatewayError(
                .unsupportedMediaType, code: "unsupported_media_type", message: "the file part needs a Content-Type of a type the gateway keeps")
        }
        if let refusal = MediaRules.check(type: mediaType) { throw Self.error(refusal) }
        guard part.bytes.count <= maxBytes else { throw Self.error(.tooLarge(limit: maxBytes)) }
        guard !part.bytes.isEmpty else { throw Self.error(.empty) }
        if let refusal = MediaRules.check(firstBytes: Array(part.bytes.prefix(MediaRules.sniffLength)), type: mediaType) {
            throw Self.error(refusal)
        }
        let queryName = request.uri.queryParameters["name"].map(String.init)
        let name = try Self.checkedName(queryName ?? part.filename.map { String($0.split(separator: "/").last ?? "") })
        do {
            let item = try directory.keep(part.bytes, mimeType: mediaType, name: name, origin: "upload", at: now())
            logger.info("media kept", metadata: ["media_id": "\(item.id)", "mime_type": "\(mediaType)", "size": "\(item.size)"])
            return item
        } catch {
            logger.error("media not kept", metadata: ["error": "\(error)"])
            throw GatewayError(.serviceUnavailable, code: "storage_unavailable", message: "the media directory cannot be written")
        }
    }

    /// An upload's name: at most 200 code points, none of them control characters; empty is none.
    static func checkedName(_ name: String?) throws -> String? {
        guard let name, !name.isEmpty else { return nil }
        if name.unicodeScalars.count > 200 || name.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) {
            throw GatewayError(.badRequest, code: "bad_request", message: "name: at most 200 characters, without control characters")
        }
        return name
    }

    static func error(_ refusal: MediaRules.Refusal) -> GatewayError {
        switch refusal {
        case .typeNotAllowed, .notThatType: GatewayError(.unsupportedMediaType, code: "unsupported_media_type", message: refusal.message)
        case .tooLarge: GatewayError(.contentTooLarge, code: "payload_too_large", message: refusal.message)
        case .empty: GatewayError(.badRequest, code: "malformed_body", message: refusal.message)
        }
    }

    /// The file, as its type, never sniffed or run: `nosniff`, a sandboxing CSP, and documents as
    /// downloads.
    func serve(_ id: String, context: GatewayRequestContext, cache: String) async throws -> Response {
        guard let item = directory.item(id), let path = directory.path(of: id) else {
            throw GatewayError(.notFound, code: "media_not_found", message: "no media with id \(id)")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        var headers = HTTPFields()
        headers[.contentType] = item.mimeType
        headers[.contentLength] = String(item.size)
        headers[.cacheControl] = cache
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        let kind = Content.Attachment.kind(forMimeType: item.mimeType)
        let filename = (item.name ?? "\(item.id).\(MediaRules.extensions[item.mimeType] ?? "bin")")
            .filter { $0.isLetter || $0.isNumber || " ._-".contains($0) }
        headers[.contentDisposition] = (kind == .file ? "attachment" : "inline") + "; filename=\"\(filename)\""
        return Response(status: .ok, headers: headers, body: body)
    }
}
