package dev.jlight.core.template;

/**
 * Budgets of one render, so that a hostile template cannot hang or exhaust the server: a step
 * count (expressions evaluated, statements run, loop iterations), the size of any string or list it
 * builds, and the depth of macro calls.
 */
final class Limits {
    final long maxSteps;
    final long maxChars;
    final int maxCallDepth;
    private long steps;

    Limits(long maxSteps, long maxChars, int maxCallDepth) {
        this.maxSteps = maxSteps;
        this.maxChars = maxChars;
        this.maxCallDepth = maxCallDepth;
    }

    void step() {
        if (++steps > maxSteps) {
            throw new TemplateException("LimitExceeded", "template exceeded " + maxSteps + " evaluation steps");
        }
    }


    /** Fails when a string (chars) or list (items) of this size would exceed the output budget. */
    void checkSize(long size) {
        if (size > maxChars) {
            throw new TemplateException("LimitExceeded", "template output or value exceeds " + maxChars + " characters");
        }
    }
}
