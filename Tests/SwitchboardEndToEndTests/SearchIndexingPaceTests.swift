import SwitchboardStorage
import Testing

@Suite("Search indexing pace: the backlog is indexed when the writer is quiet, or past the limit")
struct SearchIndexingPaceTests {
    let pace = SearchIndexingPace.standard
    let busy = Duration.zero
    let quiet = Duration.seconds(1)

    @Test("a quiet writer takes the backlog in whole chunks, the last one what is left")
    func quietWriter() {
        #expect(pace.nextChunk(backlog: 96_000, writerQuietFor: quiet) == 2_000)
        #expect(pace.nextChunk(backlog: 30, writerQuietFor: quiet) == 30)
        #expect(pace.nextChunk(backlog: 0, writerQuietFor: quiet) == 0)
        // Quiet means at least half a second without webhook work.
        #expect(pace.nextChunk(backlog: 30, writerQuietFor: .milliseconds(499)) == 0)
        #expect(pace.nextChunk(backlog: 30, writerQuietFor: .milliseconds(500)) == 30)
    }

    @Test("a busy writer is left alone until the backlog passes the limit")
    func busyWriter() {
        #expect(pace.nextChunk(backlog: 96_000, writerQuietFor: busy) == 0)
        #expect(pace.nextChunk(backlog: 100_000, writerQuietFor: busy) == 0)
        #expect(pace.nextChunk(backlog: 100_001, writerQuietFor: busy) == 2_000)
    }

    @Test("asked for explicitly, everything is indexed whatever the writer does")
    func explicit() {
        #expect(pace.nextChunk(backlog: 10, writerQuietFor: busy, onlyWhenQuiet: false) == 10)
        #expect(pace.nextChunk(backlog: 5_000, writerQuietFor: busy, onlyWhenQuiet: false) == 2_000)
        #expect(pace.nextChunk(backlog: 0, writerQuietFor: busy, onlyWhenQuiet: false) == 0)
    }

    @Test("nonsense settings are clamped: a chunk is at least one contact, the limit at least zero")
    func clamped() {
        let odd = SearchIndexingPace(backlogLimit: -5, chunk: 0, quietAfter: .seconds(1))
        #expect(odd.backlogLimit == 0)
        #expect(odd.nextChunk(backlog: 1, writerQuietFor: .zero) == 1)
    }
}
