import SwitchboardCore
import Testing

@Suite("Multipart form data")
struct MultipartFormDataTests {
    let body = Array("""
        preamble\r
        --XyZ\r
        Content-Disposition: form-data; name="note"\r
        \r
        hello\r
        --XyZ\r
        Content-Disposition: form-data; name="file"; filename="a b.png"\r
        Content-Type: image/png\r
        \r
        \u{89}PNG-bytes\r
        with a line break\r
        --XyZ--\r
        epilogue
        """.utf8)

    @Test("the boundary comes from the Content-Type, quoted or not, 1 to 70 characters")
    func boundaries() {
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=XyZ") == "XyZ")
        #expect(MultipartFormData.boundary(fromContentType: #"multipart/form-data; charset=utf-8; Boundary="a b""#) == "a b")
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data") == nil)
        #expect(MultipartFormData.boundary(fromContentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
    }

    @Test("the file part: its bytes exactly (line breaks inside kept), its type and file name")
    func file() throws {
        let file = try MultipartFormData.firstFile(in: body, boundary: "XyZ")
        #expect(Array(file.bytes) == Array("\u{89}PNG-bytes\r\nwith a line break".utf8))
        #expect(file.contentType == "image/png" && file.filename == "a b.png")
    }

    @Test("bodies without a file, cut short or with another boundary are refused by name")
    func refusals() {
        let noFile = Array("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ--\r\n".utf8)
        #expect(throws: MultipartFormData.Problem.noFile) { try MultipartFormData.firstFile(in: noFile, boundary: "XyZ") }
        #expect(throws: MultipartFormData.Problem.malformed) { try MultipartFormData.firstFile(in: Array(body.prefix(90)), boundary: "XyZ") }
        #expect(throws: MultipartFormData.Problem.malformed) { try MultipartFormData.firstFile(in: body, boundary: "other") }
        #expect(throws: MultipartFormData.Problem.malformed) { try MultipartFormData.firstFile(in: [], boundary: "XyZ") }
    }
}
