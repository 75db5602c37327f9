import FixtureSupport
import Foundation
import RBMAdapter
import SwitchboardCore
import Testing

/// RBM's service-account credentials: the key file, the signed JWT, the token exchange.
@Suite("Google service account")
struct GoogleServiceAccountTests {
    /// The fixture key file's throwaway key (Tests/Fixtures/rbm/SOURCE.md).
    static var keyPEM: String {
        get throws {
            let object = try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes("rbm/service-account.json"))) as? [String: String]
            return try #require(object?["private_key"])
        }
    }
    static let email = "bot@p.iam.gserviceaccount.com"

    static func keyFile(_ fields: [String: String]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data())
    }

    /// A key file as the Cloud console writes it.
    static var account: GoogleServiceAccount {
        get throws {
            let json = keyFile([
                "type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": try keyPEM,
                "client_email": email, "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token",
            ])
            return try GoogleServiceAccount(json: json)
        }
    }

    @Test("the assertion is RS256 over Google's claims, byte for byte as openssl signs it")
    func knownAnswer() throws {
        // Expected: the signing input written by hand (sorted JSON, base64url) and signed with
        // `openssl dgst -sha256 -sign key.pem` (RSASSA-PKCS1-v1_5, deterministic).
        let expected = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwczovL29hdXRoMi5nb29nbGVhcGlzLmNvbS90b2tlbiIsImV4cCI6MTc2NzIyOTIwMCwiaWF0IjoxNzY3MjI1NjAwLCJpc3MiOiJib3RAcC5pYW0uZ3NlcnZpY2VhY2NvdW50LmNvbSIsInNjb3BlIjoiaHR0cHM6Ly93d3cuZ29vZ2xlYXBpcy5jb20vYXV0aC9yY3NidXNpbmVzc21lc3NhZ2luZyIsInN1YiI6ImJvdEBwLmlhbS5nc2VydmljZWFjY291bnQuY29tIn0.pVRlWuVYv9VbcvgIIVk98Scd8PcGHzYrZrHxUIvbLE_dAi3ZjQwWMB1YLTfngRSoqmdw5ElJ_aK6fY7T6pQm8Ob2-XpFSvh_F5orKLRWelGKtjDqtf1oUElBXuriF9MqZZHibmVoZLENGKMmnAN4BlDMhqfimOj_iNRzSssSi39P4Zj0ImcEgxM3sILTSUgLjMiNV0EuNL6Vpw7QknAcijcuYsMghjeLhQYy4_MIjLvIWODwSWohSTw08wIObaH8q0lq25JX0cEIhk4VffDssB07a5wWbhvV2P6D3gTw-MUpqAzMz6KPJ8LBM3mdG5PRXGytcWS9wjS0Oka8HR-3GQ"
        let assertion = try Self.account.assertion(now: Date(timeIntervalSince1970: 1_767_225_600))
        #expect(assertion == expected)
        let parts = assertion.split(separator: ".")
        let claims = Data(try #require(Base64URL.decode(parts[1])))
        let object = try #require(try JSONSerialization.jsonObject(with: claims) as? [String: Any])
        #expect(object["iss"] as? String == Self.email)
        #expect(object["scope"] as? String == "https://www.googleapis.com/auth/rcsbusinessmessaging")
        #expect(object["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect((object["exp"] as? Int) == 1_767_229_200)
    }

    @Test("an assertion lives at most an hour")
    func lifetimeCapped() throws {
        let assertion = try Self.account.assertion(now: Date(timeIntervalSince1970: 1_000_000), lifetime: 86_400)
        let claims = Data(try #require(Base64URL.decode(assertion.split(separator: ".")[1])))
        let object = try #require(try JSONSerialization.jsonObject(with: claims) as? [String: Any])
        #expect((object["exp"] as? Int) == 1_003_600)
    }

    @Test("the token request is the form Google documents")
    func tokenRequest() throws {
        let request = (try Self.account).tokenRequest(assertion: "a.b.c")
        #expect(request.method == "POST")
        #expect(request.url == "https://oauth2.googleapis.com/token")
        #expect(request.headers.contains(ProviderHeader("Content-Type", "application/x-www-form-urlencoded")))
        let form = try FormURLEncoding.decode(request.body)
        #expect(form.map(\.0) == ["grant_type", "assertion"])
        #expect(form.map(\.1) == ["urn:ietf:params:oauth:grant-type:jwt-bearer", "a.b.c"])
    }

    @Test("key files that cannot be used are refused, naming the field and never the key")
    func badKeyFiles() throws {
        func problem(_ fields: [String: String]) -> String? {
            do {
                _ = try GoogleServiceAccount(json: Self.keyFile(fields))
                return nil
            } catch {
                return error.description
            }
        }
        let good = ["type": "service_account", "private_key": try Self.keyPEM, "client_email": Self.email, "token_uri": "https://oauth2.googleapis.com/token"]
        #expect(problem(good) == nil)
        #expect(problem(good.merging(["type": "authorized_user"]) { $1 })?.contains("service_account") == true)
        #expect(problem(good.filter { $0.key != "client_email" }) == "client_email is missing")
        #expect(problem(good.filter { $0.key != "private_key" }) == "private_key is missing")
        #expect(problem(good.merging(["private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"]) { $1 })?.contains("RSA private key") == true)
        #expect(problem(good.merging(["token_uri": "http://oauth.example/token"]) { $1 })?.contains("token_uri") == true)
        // A key that does not parse is not quoted back.
        let brokenKey = "-----BEGIN PRIVATE KEY-----\nTUFURVJJQUwtVEhBVC1NVVNULU5PVC1MRUFL\n-----END PRIVATE KEY-----"
        let broken = problem(good.merging(["private_key": brokenKey]) { $1 })
        #expect(broken == "private_key is not an RSA private key of 2048 bits or more in PEM")
        #expect(broken?.contains("TUFURVJJQUwtVEhBVC1NVVNULU5PVC1MRUFL") == false)
        #expect(problem(good.merging(["token_uri": "http://127.0.0.1:8090/token"]) { $1 }) == nil)
        #expect(problem(good.merging(["token_uri": "ftp://oauth2.googleapis.com/token"]) { $1 })?.contains("token_uri") == true)
        #expect(problem(good.filter { $0.key != "token_uri" }) == nil)
        let notJSON: String?
        do {
            _ = try GoogleServiceAccount(json: Array("{".utf8))
            notJSON = nil
        } catch {
            notJSON = error.description
        }
        #expect(notJSON == "not a JSON object")
        for description in [problem(good.merging(["type": "x"]) { $1 }), problem(good.filter { $0.key != "client_email" })].compactMap({ $0 }) {
            #expect(!description.contains("PRIVATE KEY"))
        }
    }

    @Test("token answers: a token and its life, OAuth errors, and odd bodies", arguments: [
        (200, #"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#, "ok ya29.x 3599"),
        (200, #"{"access_token":"ya29.x","token_type":"Bearer"}"#, "ok ya29.x 3600"),
        (200, #"{"access_token":"ya29.x","expires_in":-5}"#, "ok ya29.x 1"),
        (200, #"{"access_token":"ya29.x","expires_in":1e300}"#, "ok ya29.x 86400"),
        (200, #"{"access_token":"","expires_in":3599}"#, "error transient"),
        (200, #"{"access_token":"a b","expires_in":3599}"#, "error transient"),
        (200, #"{"access_token":"ya29.x","token_type":"MAC"}"#, "error final"),
        (200, "not json", "error transient"),
        (400, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#, "error final"),
        (503, "", "error transient"),
        (429, "", "error transient"),
    ])
    func tokenAnswers(status: Int, body: String, expected: String) {
        let result = GoogleServiceAccount.interpretToken(ProviderResponse(status: status, headers: [], body: Array(body.utf8)))
        switch result {
        case .success(let token):
            #expect("ok \(token.value) \(Int(token.expiresIn))" == expected)
        case .failure(let error):
            #expect("error \(error.transient ? "transient" : "final")" == expected)
            if status == 400 { #expect(error.message.contains("invalid_grant: Invalid JWT Signature.")) }
        }
    }

    @Test("with a service account the adapter leaves Authorization to the caller; a static token is written in")
    func authorizationHeader() throws {
        let envelope = OutboundEnvelope(messageId: "m1", recipientAddress: "+15551230000", content: Content(text: "hi"))
        let withAccount = RBMAdapter(settings: RBMSettings(
            agentId: "a", clientToken: "c", credentials: .serviceAccount(try Self.account), apiBaseURL: "https://rbm.example"))
        #expect(!(try withAccount.render(envelope)).headers.contains { $0.name == "Authorization" })
        #expect(!withAccount.capabilityRequest(phone: "+15551230000", requestId: "r").headers.contains { $0.name == "Authorization" })
        let withToken = RBMAdapter(settings: RBMSettings(agentId: "a", clientToken: "c", accessToken: "t", apiBaseURL: "https://rbm.example"))
        #expect(try withToken.render(envelope).headers.contains(ProviderHeader("Authorization", "Bearer t")))
    }
}
