package dev.jlight.core.backend;

/**
 * Rotary position embedding as HF computes it: NeoX style (rotate_half: dimension i pairs with
 * i + rotaryDim/2), inverse frequencies {@code theta^(-2i/rotaryDim)} then adjusted by the
 * scaling rule. {@link #inverseFrequencies()} is the one place the scaling math lives; backends
 * only apply cos/sin of {@code position * invFreq[i]}.
 */
public record RopeSpec(int headDim, int rotaryDim, double theta, Scaling scaling) {

    /** rope_scaling of config.json; {@code null} type means none. */
    public record Scaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions) {
        public static final Scaling NONE = new Scaling("default", 1.0, 0, 0, 0);
    }

    public float[] inverseFrequencies() {
        int half = rotaryDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / rotaryDim);
        }
        switch (scaling.type()) {
            case "default" -> { }
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= scaling.factor();
                }
            }
            case "llama3" -> applyLlama3(inv);
            default -> throw new IllegalStateException("rope scaling " + scaling.type());
        }
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            out[i] = (float) inv[i];
        }
        return out;
    }

    /** transformers' _compute_llama3_parameters, computed in double then rounded like torch's f32. */
    private void applyLlama3(double[] inv) {
        double factor = scaling.factor();
        double lowFreqWavelen = scaling.originalMaxPositions() / scaling.lowFreqFactor();
        double highFreqWavelen = scaling.originalMaxPositions() / scaling.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / factor;
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (scaling.originalMaxPositions() / wavelen - scaling.lowFreqFactor())
                        / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
    }
}
