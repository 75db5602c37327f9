import SwitchboardStorage
import Testing

@Suite("Search plan: walk the activity order or sort the matches")
struct WalkOrSortTests {
    @Test("a common name walks, a phone sorts, nothing matched sorts")
    func choice() {
        // 2,000 of 100,000 contacts: the walk tests about 2,550 rows against 2,000 reads at 2.5x.
        #expect(WalkOrSort.walks(matches: 2_000, limit: 51, contacts: 100_000))
        #expect(!WalkOrSort.walks(matches: 1, limit: 51, contacts: 100_000))
        #expect(!WalkOrSort.walks(matches: 500, limit: 51, contacts: 100_000))
        #expect(!WalkOrSort.walks(matches: 0, limit: 51, contacts: 100_000))
        #expect(!WalkOrSort.walks(matches: 10, limit: 51, contacts: 0))
    }
}
