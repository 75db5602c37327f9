import CCurl
import Foundation
import Logging

/// The thread that drives libcurl's multi handle. Everything but `submit`, `cancel` and `stop` runs
/// on that thread only.
final class CurlLoop: @unchecked Sendable {
    let configuration: CurlHTTPClient.Configuration
    private let logger: Logger
    private let multi: UnsafeMutableRawPointer
    private let lock = NSLock()
    // Guarded by `lock`.
    private var incoming: [CurlTransfer] = []
    private var cancellations: [ObjectIdentifier] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    // Curl thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private var openedConnections = 0
    private let openedLock = NSLock()

    init(configuration: CurlHTTPClient.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        guard let multi = curl_multi_init() else {
            preconditionFailure("curl_multi_init failed: libcurl is unusable")
        }
        self.multi = multi
        swb_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        swb_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        swb_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxCachedConnections)
    }

    var connectionsOpened: Int {
        openedLock.lock()
        defer { openedLock.unlock() }
        return openedConnections
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "switchboard.curl"
        self.thread = thread
        thread.start()
    }

    func submit(_ transfer: CurlTransfer) {
        lock.lock()
        if stopping {
            lock.unlock()
            transfer.finish(.failure(HTTPClientError(kind: .shutdown, message: "the HTTP client is shut down")))
            return
        }
        incoming.append(transfer)
        lock.unlock()
        curl_multi_wakeup(multi)
    }

    func cancel(_ transfer: CurlTransfer) {
        lock.lock()
        cancellations.append(ObjectIdentifier(transfer))
        lock.unlock()
        curl_multi_wakeup(multi)
    }

    func stop() {
        lock.lock()
        let wasStopping = stopping
        stopping = true
        let started = thread != nil
        lock.unlock()
        guard !wasStopping else { return }
        curl_multi_wakeup(multi)
        if started, Thread.current != thread { finished.wait() }
    }

    private func run() {
        var running: Int32 = 0
        while true {
            lock.lock()
            let newTransfers = incoming
            incoming.removeAll(keepingCapacity: true)
            let cancelled = cancellations
            cancellations.removeAll()
            let shouldStop = stopping
            lock.unlock()

            for transfer in newTransfers { add(transfer) }
            if !cancelled.isEmpty { cancel(ids: Set(cancelled)) }
            if shouldStop { break }

            curl_multi_perform(multi, &running)
            collectFinished()
            var fds: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &fds)
        }
        for (easy, transfer) in active {
            let sent = Self.requestMayHaveBeenSent(easy)
            remove(transfer)
            transfer.finish(.failure(HTTPClientError(kind: .shutdown, message: "the HTTP client was shut down", requestMayHaveBeenSent: sent)))
        }
        for handle in idleHandles { curl_easy_cleanup(handle) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        finished.signal()
    }

    private func add(_ transfer: CurlTransfer) {
        let easy: UnsafeMutableRawPointer
        if let reused = idleHandles.popLast() {
            curl_easy_reset(reused)
            easy = reused
        } else if let created = curl_easy_init() {
            easy = created
        } else {
            transfer.finish(.failure(HTTPClientError(kind: .other, message: "curl_easy_init failed")))
            return
        }
        transfer.easy = easy
        if let error = configure(easy, for: transfer) {
            transfer.easy = nil
            idleHandles.append(easy)
            transfer.finish(.failure(error))
            return
        }
        active[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    /// A URL for an error message: its query (Meta's `access_token`, say) left out.
    static func withoutQuery(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: CurlTransfer) -> HTTPClientError? {
        let request = transfer.request
        let method = request.method.uppercased()
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            return HTTPClientError(kind: .invalidRequest, message: "only http and https URLs are allowed: \(Self.withoutQuery(request.url))")
        }
        var code = swb_easy_setopt_string(easy, CURLOPT_URL, request.url)
        if code == CURLE_OK, !request.pinnedAddresses.isEmpty {
            // Connect only to the addresses the caller checked (CURLOPT_RESOLVE), so a name that
            // resolves differently a moment later (DNS rebinding) cannot reach another host.
            var pins: UnsafeMutablePointer<curl_slist>?
            for pin in request.pinnedAddresses { pins = curl_slist_append(pins, pin) }
            transfer.resolveList = pins
            code = swb_easy_setopt_slist(easy, CURLOPT_RESOLVE, pins)
        }
        guard code == CURLE_OK else {
            return HTTPClientError(kind: .invalidRequest, message: "libcurl refused the URL: \(Self.withoutQuery(request.url))")
        }
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()
        swb_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        swb_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        swb_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        swb_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        swb_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        swb_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        swb_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, request.timeoutMilliseconds))
        swb_easy_setopt_long(
            easy, CURLOPT_CONNECTTIMEOUT_MS, min(configuration.connectTimeoutMilliseconds, max(1, request.timeoutMilliseconds)))
        swb_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        swb_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        swb_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, userdata)
        swb_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        swb_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, userdata)

        switch method {
        case "GET":
            swb_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case "HEAD":
            swb_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        default:
            if method != "POST" {
                swb_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method)
            }
            swb_easy_setopt_long(easy, CURLOPT_POST, 1)
            swb_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            // COPYPOSTFIELDS copies the bytes, so the Swift array need not outlive this call.
            code = request.body.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    swb_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: chars.baseAddress ?? UnsafePointer(bitPattern: 1)!))
                }
            }
            guard code == CURLE_OK else {
                return HTTPClientError(kind: .invalidRequest, message: "libcurl refused the body")
            }
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            guard !header.name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                  !header.value.contains(where: { $0 == "\r" || $0 == "\n" })
            else {
                curl_slist_free_all(list)
                return HTTPClientError(kind: .invalidRequest, message: "header \(header.name) has a line break or colon")
            }
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // No `Expect: 100-continue` round trip before bodies over 1 KiB.
        list = curl_slist_append(list, "Expect:")
        transfer.headerList = list
        swb_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        return nil
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard swb_msg_is_done(message) != 0, let easy = message.pointee.easy_handle,
                  let transfer = active[easy]
            else { continue }
            let result = swb_msg_result(message)
            var status = 0
            swb_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var connects = 0
            swb_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
            if connects > 0 {
                openedLock.lock()
                openedConnections += connects
                openedLock.unlock()
            }
            let sent = Self.requestMayHaveBeenSent(easy)
            remove(transfer)
            if result == CURLE_OK {
                transfer.finish(.success(HTTPClientResponse(
                    status: status, headers: transfer.responseHeaders, body: transfer.responseBody)))
            } else {
                var error = Self.error(for: result, transfer: transfer)
                error.requestMayHaveBeenSent = sent
                transfer.finish(.failure(error))
            }
        }
    }

    private func cancel(ids: Set<ObjectIdentifier>) {
        for (easy, transfer) in active where ids.contains(ObjectIdentifier(transfer)) {
            let sent = Self.requestMayHaveBeenSent(easy)
            remove(transfer)
            transfer.finish(.failure(HTTPClientError(kind: .cancelled, message: "the request was cancelled", requestMayHaveBeenSent: sent)))
        }
    }

    private func remove(_ transfer: CurlTransfer) {
        guard let easy = transfer.easy else { return }
        curl_multi_remove_handle(multi, easy)
        active[easy] = nil
        transfer.easy = nil
        idleHandles.append(easy)
    }

    /// Whether libcurl got as far as sending the request on this handle. It stamps the
    /// pre-transfer time once connected (TLS included) and just before it writes the request, and
    /// counts the header bytes it wrote as the request size
    /// (https://curl.se/libcurl/c/CURLINFO_PRETRANSFER_TIME_T.html,
    /// https://curl.se/libcurl/c/CURLINFO_REQUEST_SIZE.html): with neither, nothing left this
    /// process. Either one is taken as "may have been sent", erring on the side of "unknown".
    private static func requestMayHaveBeenSent(_ easy: UnsafeMutableRawPointer) -> Bool {
        var pretransfer: curl_off_t = 0
        swb_easy_getinfo_off_t(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer)
        var requestSize = 0
        swb_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestSize)
        var uploaded: curl_off_t = 0
        swb_easy_getinfo_off_t(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded)
        return pretransfer > 0 || requestSize > 0 || uploaded > 0
    }

    private static func error(for code: CURLcode, transfer: CurlTransfer) -> HTTPClientError {
        let message = String(cString: curl_easy_strerror(code))
        if transfer.tooLarge {
            return HTTPClientError(kind: .responseTooLarge, message: "the response is over \(transfer.maxResponseBytes) bytes")
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPClientError(kind: .timeout, message: message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPClientError(kind: .resolveFailed, message: message)
        case CURLE_COULDNT_CONNECT:
            return HTTPClientError(kind: .connectFailed, message: message)
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return HTTPClientError(kind: .connectionLost, message: message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE:
            return HTTPClientError(kind: .tls, message: message)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return HTTPClientError(kind: .invalidRequest, message: message)
        default:
            return HTTPClientError(kind: .other, message: message)
        }
    }
}
