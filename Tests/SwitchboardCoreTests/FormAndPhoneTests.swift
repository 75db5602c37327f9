import SwitchboardCore
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
    }
}
