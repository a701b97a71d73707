package dev.jlight.core.engine;

import java.util.List;

/**
 * Finds stop strings in a sequence's growing text and decides how much text is safe to send:
 * the longest tail that could still begin a stop string is held back, so a stop string split
 * over several tokens never leaks into the output. An occurrence can only start in the held
 * text, so each search starts where the released text ends.
 */
final class StopStringMatcher {
    /** Text to send now, and the stop string that ended the sequence (null when none did). */
    record Result(String text, String stop) {
    }

    private final List<String> stops;
    private final boolean includeStop;
    private final int maxHold;
    private final StringBuilder text = new StringBuilder();
    private int released;

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
        text.append(delta);
        if (stops.isEmpty()) {
            return new Result(releaseTo(text.length()), null);
        }
        if (active) {
            int best = -1;
            String bestStop = null;
            for (String s : stops) {
                int at = text.indexOf(s, released);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    bestStop = s;
                }
            }
            if (bestStop != null) {
                String out = releaseTo(includeStop ? best + bestStop.length() : best);
                released = text.length();
                return new Result(out, bestStop);
            }
        }
        return new Result(releaseTo(text.length() - heldTail()), null);
    }

    /** Everything not yet sent (the sequence ended some other way). */
    String releaseAll() {
        return releaseTo(text.length());
    }

    /** The full text generated so far, including held text. */
    String text() {
        return text.toString();
    }

    private String releaseTo(int end) {
        if (end <= released) {
            return "";
        }
        String out = text.substring(released, end);
        released = end;
        return out;
    }

    /** Length of the longest unreleased tail that is a proper prefix of some stop string. */
    private int heldTail() {
        int limit = Math.min(maxHold, text.length() - released);
        for (int k = limit; k > 0; k--) {
            for (String s : stops) {
                if (k < s.length() && tailStartsWith(k, s)) {
                    return k;
                }
            }
        }
        return 0;
    }

    private boolean tailStartsWith(int k, String s) {
        int from = text.length() - k;
        for (int i = 0; i < k; i++) {
            if (text.charAt(from + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
