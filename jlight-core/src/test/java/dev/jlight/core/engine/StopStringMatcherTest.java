package dev.jlight.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringMatcherTest {

    /** Feeds the pieces; returns what was released, then "|" and the stop (or "-"), then held text at the end. */
    private static String run(List<String> stops, boolean include, String... pieces) {
        StopStringMatcher m = new StopStringMatcher(stops, include);
        StringBuilder out = new StringBuilder();
        for (String p : pieces) {
            StopStringMatcher.Result r = m.append(p, true);
            out.append(r.text());
            if (r.stop() != null) {
                return out + "|" + r.stop();
            }
        }
        return out + "|-" + m.releaseAll();
    }

    @Test
    void stopSplitOverTokensIsCutBeforeIt() {
        assertEquals("Hello |END", run(List.of("END"), false, "Hel", "lo E", "N", "D!"));
        assertEquals("Hello END|END", run(List.of("END"), true, "Hel", "lo E", "N", "D!"));
        assertEquals("|END", run(List.of("END"), false, "E", "N", "D"));
    }

    @Test
    void possibleStartsAreHeldUntilResolved() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"), false);
        assertEquals("ab", m.append("abE", true).text());
        assertEquals("", m.append("N", true).text());
        StopStringMatcher.Result r = m.append("x", true);
        assertEquals("ENx", r.text(), "ENx cannot start END: released");
        assertNull(r.stop());
        assertEquals("", m.append("EN", true).text());
        assertEquals("EN", m.releaseAll());
    }

    @Test
    void earliestOccurrenceWinsAcrossStopStrings() {
        assertEquals("x|bc", run(List.of("cd", "bc"), false, "xbcd"));
        assertEquals("x|bcd", run(List.of("bcd", "cd"), false, "xbcd"));
    }

    @Test
    void noStopsReleasesEverythingAtOnce() {
        StopStringMatcher m = new StopStringMatcher(List.of(), false);
        assertEquals("abc", m.append("abc", true).text());
    }

    @Test
    void overlappingPrefixHoldsTheLongestCandidate() {
        // "xaaab": "aa" is held, then "aaa" shifts the candidate by one and releases the first "a".
        assertEquals("xa|aab", run(List.of("aab"), false, "x", "a", "a", "a", "b"));
        assertEquals("xaaab|aab", run(List.of("aab"), true, "x", "a", "a", "a", "b"));
    }

    @Test
    void inactiveBeforeMinTokensThenMatchesAStopCompletedLater() {
        StopStringMatcher m = new StopStringMatcher(List.of("ab"), false);
        assertEquals("", m.append("a", false).text());
        StopStringMatcher.Result r = m.append("b", true);
        assertEquals("ab", r.stop());
        assertEquals("", r.text());
        // A stop completed while inactive is let through.
        StopStringMatcher m2 = new StopStringMatcher(List.of("ab"), false);
        assertEquals("ab", m2.append("ab", false).text());
        assertNull(m2.append("c", true).stop());
    }
}
