package dev.jlight.core.engine.kv;

/** A fixed token sequence for KV-manager tests. */
record TestSeq(long seqId, int[] tokens) implements KvRequest {
    static TestSeq of(long id, int... tokens) {
        return new TestSeq(id, tokens);
    }

    /** Tokens {@code start, start+1, ..., start+n-1}. */
    static TestSeq range(long id, int start, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = start + i;
        }
        return new TestSeq(id, t);
    }

    @Override
    public int numTokens() {
        return tokens.length;
    }

    @Override
    public int tokenAt(int index) {
        return tokens[index];
    }
}
