import CCurl

/// One request in flight. After `submit` it is touched only by the curl thread, which resumes the
/// continuation exactly once.
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPClientRequest
    let maxResponseBytes: Int
    var continuation: CheckedContinuation<Result<HTTPClientResponse, HTTPClientError>, Never>?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// CURLOPT_RESOLVE entries, freed with the transfer.
    var resolveList: UnsafeMutablePointer<curl_slist>?
    var responseHeaders: [(name: String, value: String)] = []
    var responseBody: [UInt8] = []
    var tooLarge = false

    init(request: HTTPClientRequest, maxResponseBytes: Int) {
        self.request = request
        self.maxResponseBytes = maxResponseBytes
    }

    func finish(_ result: Result<HTTPClientResponse, HTTPClientError>) {
        if let resolveList {
            curl_slist_free_all(resolveList)
            self.resolveList = nil
        }
        if let headerList {
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
        continuation?.resume(returning: result)
        continuation = nil
    }

    /// Called for each header line; a status line starts a new response (after 100 Continue or a redirect).
    func receiveHeaderLine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var line = Substring(String(decoding: bytes, as: UTF8.self))
        // "\r\n" is one Character in Swift, so test for any newline rather than for "\r" or "\n".
        while let last = line.last, last.isNewline { line.removeLast() }
        if line.hasPrefix("HTTP/") {
            responseHeaders.removeAll()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon])
        var value = line[line.index(after: colon)...]
        while value.first == " " || value.first == "\t" { value.removeFirst() }
        responseHeaders.append((name: name, value: String(value)))
    }

    /// Called for each body chunk; returns false once the body is over the limit.
    func receiveBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if responseBody.count + bytes.count > maxResponseBytes {
            tooLarge = true
            return false
        }
        responseBody.append(contentsOf: bytes)
        return true
    }
}

/// libcurl's write and header callbacks: `userdata` is the unretained `CurlTransfer`.
let curlWriteCallback: swb_curl_data_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let buffer = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    return transfer.receiveBody(buffer) ? length : 0
}

let curlHeaderCallback: swb_curl_data_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    transfer.receiveHeaderLine(
        UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length))
    return length
}
