import SwitchboardCore
import Testing

@Suite("Media fetch rules")
struct MediaFetchRulesTests {
    @Test("hosts: exact entries, and subdomains of entries that start with a dot; junk URLs have none")
    func hosts() {
        #expect(MediaFetchRules.host(of: "https://Scontent.XX.fbcdn.net/v/t1/abc.png?oe=6") == "scontent.xx.fbcdn.net")
        #expect(MediaFetchRules.host(of: "http://[::1]:8090/x") == "::1")
        for junk in ["ftp://a.example/x", "javascript:alert(1)", "https:///x", "not a url"] {
            #expect(MediaFetchRules.host(of: junk) == nil, "\(junk)")
        }
        let hosts = ["api.twilio.com", ".fbcdn.net"]
        #expect(MediaFetchRules.host("api.twilio.com", isIn: hosts))
        #expect(MediaFetchRules.host("scontent.xx.fbcdn.net", isIn: hosts))
        #expect(MediaFetchRules.host("fbcdn.net", isIn: hosts))
        #expect(!MediaFetchRules.host("evilfbcdn.net", isIn: hosts))
        #expect(!MediaFetchRules.host("api.twilio.com.evil.example", isIn: hosts))
        #expect(!MediaFetchRules.host("media.twilio.com", isIn: hosts))
    }

    @Test("a redirect's Location is resolved against the URL that answered; only http(s) targets count")
    func redirects() {
        let from = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        #expect(MediaFetchRules.redirectTarget("https://s3.amazonaws.com/x.png", from: from) == "https://s3.amazonaws.com/x.png")
        #expect(MediaFetchRules.redirectTarget("/files/ME1.png", from: from) == "https://api.twilio.com/files/ME1.png")
        #expect(MediaFetchRules.redirectTarget("file:///etc/passwd", from: from) == nil)
        #expect(MediaFetchRules.redirectTarget("gopher://x/", from: from) == nil)
    }

    @Test("transient problems are retried on a growing schedule for a day; permanent ones never")
    func schedule() {
        #expect(MediaFetchRules.next(afterAttempt: 1, transient: true, age: 0) == .retry(after: 5))
        #expect(MediaFetchRules.next(afterAttempt: 5, transient: true, age: 100) == .retry(after: 3_600))
        #expect(MediaFetchRules.next(afterAttempt: 6, transient: true, age: 100) == .giveUp)
        #expect(MediaFetchRules.next(afterAttempt: 2, transient: true, age: 24 * 3600) == .giveUp)
        #expect(MediaFetchRules.next(afterAttempt: 1, transient: false, age: 0) == .giveUp)
        #expect(MediaFetchRules.isTransient(status: 503) && MediaFetchRules.isTransient(status: 429) && MediaFetchRules.isTransient(status: 408))
        #expect(!MediaFetchRules.isTransient(status: 404) && !MediaFetchRules.isTransient(status: 403))
    }
}
