import Foundation
import SwitchboardCore
#if canImport(Glibc)
import Glibc
#endif

/// A file the media directory keeps: what it is, and where it came from.
public struct StoredMedia: Codable, Sendable, Equatable {
    /// `med_` and a sortable id: the file's name in the directory.
    public var id: String
    public var mimeType: String
    public var size: Int
    /// The name it was uploaded with, if any (shown as the attachment's name).
    public var name: String?
    /// `upload` (the API) or `inbound` (fetched from a provider).
    public var origin: String
    public var createdAt: Date

    public init(id: String, mimeType: String, size: Int, name: String?, origin: String, createdAt: Date) {
        self.id = id
        self.mimeType = mimeType
        self.size = size
        self.name = name
        self.origin = origin
        self.createdAt = createdAt
    }
}

/// Media kept as files (`SWITCHBOARD_MEDIA_DIR`; docs/media.md has the layout):
/// `<root>/<two characters>/<id>` holds the bytes and `<id>.json` what they are, both written to a
/// temporary name, flushed to disk and renamed, so a file is either whole and described or absent.
/// Several instances share one directory (a network file system) as they share one database.
public struct MediaDirectory: Sendable {
    public let root: String

    public enum Failure: Error, Equatable {
        case cannotCreate(String)
        case cannotWrite(String)
    }

    /// Opens (creating when needed) the directory at `root`.
    public init(root: String) throws(Failure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .cannotCreate("\(root) exists and is not a directory") }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .cannotCreate("\(root): \(error.localizedDescription)")
            }
        }
        self.root = root
    }

    /// Whether `id` is one this directory could have made (nothing else reaches the file system).
    public static func isValid(id: String) -> Bool {
        id.hasPrefix("med_") && id.utf8.count == 30 && id.utf8.dropFirst(4).allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
    }

    func folder(_ id: String) -> String { root + "/" + String(id.suffix(2)) }

    /// Where the bytes of `id` are, when it is kept.
    public func path(of id: String) -> String? {
        guard Self.isValid(id: id) else { return nil }
        let path = folder(id) + "/" + id
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// What `id` is, when it is kept.
    public func item(_ id: String) -> StoredMedia? {
        guard Self.isValid(id: id), let data = FileManager.default.contents(atPath: folder(id) + "/" + id + ".json") else { return nil }
        return try? GatewayJSON.decoder().decode(StoredMedia.self, from: data)
    }

    /// A file being written: bytes are appended as they arrive, then it is kept or discarded.
    public final class Writer: @unchecked Sendable {
        let directory: MediaDirectory
        let id: String
        let temporary: String
        var descriptor: Int32
        public private(set) var size = 0
        /// The first bytes written, to check the file's signature.
        public private(set) var head: [UInt8] = []

        init(directory: MediaDirectory, id: String) throws(Failure) {
            self.directory = directory
            self.id = id
            let folder = directory.folder(id)
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw .cannotWrite("\(folder): \(error.localizedDescription)")
            }
            temporary = folder + "/." + id + ".partial"
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw .cannotWrite("\(temporary): \(String(cString: strerror(errno)))") }
        }

        deinit {
            if descriptor >= 0 {
                close(descriptor)
                unlink(temporary)
            }
        }

        public func append(_ bytes: some Collection<UInt8>) throws(Failure) {
            if head.count < MediaRules.sniffLength { head += bytes.prefix(MediaRules.sniffLength - head.count) }
            let array = Array(bytes)
            var offset = 0
            while offset < array.count {
                let written = array.withUnsafeBytes { raw in raw.baseAddress.map { write(descriptor, $0 + offset, array.count - offset) } ?? 0 }
                guard written > 0 else { throw .cannotWrite("\(temporary): \(String(cString: strerror(errno)))") }
                offset += written
            }
            size += array.count
        }

        /// Flushes the file to disk and keeps it under its id, described by `item`.
        public func keep(mimeType: String, name: String?, origin: String, at now: Date) throws(Failure) -> StoredMedia {
            guard fsync(descriptor) == 0 else { throw .cannotWrite("\(temporary): \(String(cString: strerror(errno)))") }
            close(descriptor)
            descriptor = -1
            let folder = directory.folder(id)
            let item = StoredMedia(id: id, mimeType: mimeType, size: size, name: name, origin: origin, createdAt: now)
            guard rename(temporary, folder + "/" + id) == 0 else {
                unlink(temporary)
                throw .cannotWrite("\(folder)/\(id): \(String(cString: strerror(errno)))")
            }
            do {
                let json = Array(try GatewayJSON.encoder().encode(item))
                try MediaDirectory.writeDurably(json, to: folder + "/" + id + ".json")
            } catch {
                unlink(folder + "/" + id)
                throw .cannotWrite("\(folder)/\(id).json: \(error)")
            }
            return item
        }

        /// Drops what was written.
        public func discard() {
            if descriptor >= 0 {
                close(descriptor)
                descriptor = -1
            }
            unlink(temporary)
        }
    }

    /// Starts a new file, named by a new id.
    public func newFile(at now: Date) throws(Failure) -> Writer {
        try Writer(directory: self, id: SortableID.make(prefix: "med_", now: now))
    }

    /// Keeps bytes already in memory as a new file, whole or not at all.
    public func keep(
        _ bytes: some Collection<UInt8>, mimeType: String, name: String?, origin: String, at now: Date
    ) throws(Failure) -> StoredMedia {
        let file = try newFile(at: now)
        do throws(Failure) {
            try file.append(bytes)
            return try file.keep(mimeType: mimeType, name: name, origin: origin, at: now)
        } catch {
            file.discard()
            throw error
        }
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws(Failure) {
        let temporary = path + ".partial"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotWrite("\(temporary): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { raw in raw.baseAddress.map { write(descriptor, $0, bytes.count) } ?? 0 }
        guard written == bytes.count, fsync(descriptor) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .cannotWrite("\(path): \(String(cString: strerror(errno)))")
        }
    }
}
