@testable import SwitchboardCore
import Testing

@Suite("Form encoding and phone numbers")
struct FormAndPhoneTests {
    @Test("form bodies decode in order, with +, percent escapes, repeated and empty values")
    func decode() throws {
        let pairs = try FormURLEncoding.decode(Array("Body=hi+there%21&From=%2B1555&MediaUrl=a&MediaUrl=b&Empty=&Flag".utf8))
        #expect(pairs.map(\.0) == ["Body", "From", "MediaUrl", "MediaUrl", "Empty", "Flag"])
        #expect(pairs.map(\.1) == ["hi there!", "+1555", "a", "b", "", ""])
        #expect(throws: FormURLEncoding.DecodingError.self) { try FormURLEncoding.decode(Array("a=%G1".utf8)) }
        #expect(throws: FormURLEncoding.DecodingError.self) { try FormURLEncoding.decode(Array("a=%FF".utf8)) }
        // Raw bytes that are not UTF-8, with and without escapes elsewhere in the component.
        #expect(throws: FormURLEncoding.DecodingError.self) { try FormURLEncoding.decode([0x61, 0x3D, 0xC3]) }
        #expect(throws: FormURLEncoding.DecodingError.self) { try FormURLEncoding.decode([0x61, 0x3D, 0x2B, 0xFF]) }
        #expect(try FormURLEncoding.decode(Array("a=caf\u{E9}+%C3%A9".utf8)).map(\.1) == ["caf\u{E9} \u{E9}"])
    }

    @Test("encoding round-trips any text")
    func roundTrip() throws {
        let pairs = [("Body", "Ünïcødé & = + % 😀\nline"), ("To", "+15551230000")]
        let decoded = try FormURLEncoding.decode(Array(FormURLEncoding.encode(pairs).utf8))
        #expect(decoded.map(\.0) == pairs.map(\.0))
        #expect(decoded.map(\.1) == pairs.map(\.1))
    }

    @Test("E.164 normalization")
    func e164() {
        #expect(PhoneNumber.e164("+1 (555) 123-0000") == "+15551230000")
        #expect(PhoneNumber.e164("0044 20 7946 0958") == "+442079460958")
        #expect(PhoneNumber.e164("5551230000") == nil)
        #expect(PhoneNumber.e164("+1555abc") == nil)
        #expect(PhoneNumber.e164("+123") == nil)
        #expect(PhoneNumber.e164(" \t+44 20 7946 0958\r\n") == "+442079460958")
        #expect(PhoneNumber.e164("+0123456789") == nil)
        #expect(PhoneNumber.e164("00") == nil)
        #expect(PhoneNumber.e164("+1234567890123456") == nil)
        #expect(PhoneNumber.e164("\u{00A0}+15551230000\u{2003}") == "+15551230000")
        #expect(PhoneNumber.e164("+１５５５１２３００００") == nil)
    }

    @Test("E.164: the ASCII path decides as the Character path does")
    func e164Paths() {
        // Every string of up to four symbols from an alphabet of the interesting bytes, around a
        // plausible number, so length, prefix and separator rules all meet both paths.
        let alphabet = ["+", "0", "1", "9", " ", "\t", "\r\n", "-", ".", "(", ")", "/", "a", "\u{0B}"]
        var inputs = [""]
        for _ in 0..<3 { inputs = inputs.flatMap { prefix in alphabet.map { prefix + $0 } } + inputs }
        var checked = 0
        for head in inputs {
            for body in ["", "4420794609", "15551230000", "123456789012345"] {
                for tail in ["", " ", "\r\n", "x", "0"] {
                    let raw = head + body + tail
                    #expect(PhoneNumber.e164(ascii: raw.utf8) == PhoneNumber.e164(characters: raw), "\(raw.debugDescription)")
                    checked += 1
                }
            }
        }
        #expect(checked > 50_000)
    }
}
