import Testing
@testable import TwilioSMSAdapter

/// Test vectors from the official twilio-python SDK's test suite,
/// twilio/twilio-python `tests/unit/test_request_validator.py` (token "12345").
@Suite("Twilio signature")
struct TwilioSignatureTests {
    let signer = TwilioSignature(authToken: "12345")
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    let params: [(String, String)] = [
        ("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212"),
        ("Caller", "+14158675309"),
    ]

    @Test("twilio-python test_compute_signature")
    func computeSignature() {
        #expect(signer.compute(url: url, parameters: params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        #expect(signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: params))
    }

    @Test("twilio-python test_compute_signature_duplicate_multi_dict: repeated names, values sorted")
    func repeatedNames() {
        let repeated: [(String, String)] = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
        #expect(signer.compute(url: url, parameters: repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    }

    @Test("twilio-python port tests: a port in the URL, or a default port in Twilio's signature")
    func ports() {
        // test_validation_removes_port_on_https
        #expect(signer.isValid(
            signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: "https://mycompany.com:1234/myapp.php?foo=1&bar=2", parameters: params))
        // test_validation_removes_port_on_http (the signature covers the port)
        #expect(signer.isValid(
            signature: "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", url: "http://mycompany.com:1234/myapp.php?foo=1&bar=2", parameters: params))
        // test_validation_adds_port_on_https / _on_http
        #expect(signer.isValid(signature: "kvajT1Ptam85bY51eRf/AJRuM3w=", url: url, parameters: params))
        #expect(signer.isValid(
            signature: "0ZXoZLH/DfblKGATFgpif+LLRf4=", url: "http://mycompany.com/myapp.php?foo=1&bar=2", parameters: params))
    }

    @Test("a changed parameter, URL or token fails")
    func mismatches() {
        var changed = params
        changed[1].1 = "4321"
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: changed))
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url + "&x=1", parameters: params))
        #expect(!TwilioSignature(authToken: "54321").isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: params))
        #expect(!signer.isValid(signature: "", url: url, parameters: params))
    }

    @Test("a signature that is not base64 of 20 bytes fails without a comparison")
    func malformedSignatures() {
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8", url: url, parameters: params))
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=RSOY", url: url, parameters: params))
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr", url: url, parameters: params))
        #expect(!signer.isValid(signature: "not base64 at all!", url: url, parameters: params))
        // The same 20 bytes spelt with other spare bits in the last character.
        #expect(!signer.isValid(signature: "RSOYDt4T1cUTdK1PDd93/VVr8B9=", url: url, parameters: params))
        // What compute gives is what isValid accepts.
        #expect(signer.isValid(signature: signer.compute(url: url, parameters: params), url: url, parameters: params))
    }

    @Test("URL variants keep user info, IPv6 brackets and the path")
    func urlVariants() {
        #expect(TwilioSignature.urlVariants("https://h.example/x?y=1") == ["https://h.example/x?y=1", "https://h.example:443/x?y=1"])
        #expect(TwilioSignature.urlVariants("http://[::1]:8080/x") == ["http://[::1]:8080/x", "http://[::1]/x"])
        #expect(TwilioSignature.urlVariants("https://u:p@h:99/x") == ["https://u:p@h:99/x", "https://u:p@h/x"])
    }
}
