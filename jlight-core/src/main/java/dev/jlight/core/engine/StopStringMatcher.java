package dev.jlight.core.engine;

import java.util.List;

/**
 * Finds stop strings in a sequence's growing text and decides how much text is safe to send:
 * the longest tail that could still begin a stop string is held back, so a stop string split
 * over several tokens never leaks into the output. Only the held text is kept: an occurrence
 * cannot start in text already sent, because any such start would have been held.
 */
final class StopStringMatcher {
    /** Text to send now, and the stop string that ended the sequence (null when none did). */
    record Result(String text, String stop) {
    }

    private final List<String> stops;
    private final boolean includeStop;
    private final int maxHold;
    private final StringBuilder held = new StringBuilder();

    StopStringMatcher(List<String> stops, boolean includeStopInOutput) {
        this.stops = stops;
        this.includeStop = includeStopInOutput;
        int longest = 0;
        for (String s : stops) {
            longest = Math.max(longest, s.length());
        }
        this.maxHold = Math.max(0, longest - 1);
    }

    /**
     * Adds decoded text. With {@code active} false (before min_tokens) stop strings do not match
     * but possible beginnings are still held, so a stop string completed later is still found.
     */
    Result append(String delta, boolean active) {
        held.append(delta);
        if (stops.isEmpty()) {
            return new Result(release(held.length()), null);
        }
        if (active) {
            int best = -1;
            String bestStop = null;
            for (String s : stops) {
                int at = held.indexOf(s);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    bestStop = s;
                }
            }
            if (bestStop != null) {
                String out = held.substring(0, includeStop ? best + bestStop.length() : best);
                held.setLength(0);
                return new Result(out, bestStop);
            }
        }
        return new Result(release(held.length() - heldTail()), null);
    }

    /** Everything not yet sent (the sequence ended some other way). */
    String releaseAll() {
        return release(held.length());
    }

    private String release(int end) {
        String out = held.substring(0, end);
        held.delete(0, end);
        return out;
    }

    /** Length of the longest tail that is a proper prefix of some stop string. */
    private int heldTail() {
        for (int k = Math.min(maxHold, held.length()); k > 0; k--) {
            for (String s : stops) {
                if (k < s.length() && tailStartsWith(k, s)) {
                    return k;
                }
            }
        }
        return 0;
    }

    private boolean tailStartsWith(int k, String s) {
        int from = held.length() - k;
        for (int i = 0; i < k; i++) {
            if (held.charAt(from + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
