package dev.jlight.core.config;

import dev.jlight.core.JLightException;

/**
 * A mixture-of-experts layer's settings from config.json: {@code numExperts} routed experts of
 * which each token uses {@code topK}, their weights renormalised to sum to 1 over the k when
 * {@code renormalize}. Mixtral: {@code num_local_experts}, {@code num_experts_per_tok}, always
 * renormalised (HF's MixtralTopKRouter divides by the top-k sum unconditionally).
 */
public record MoeSpec(int numExperts, int topK, boolean renormalize) {

    public MoeSpec {
        if (numExperts <= 0 || topK <= 0 || topK > numExperts) {
            throw new IllegalArgumentException("MoE: top-" + topK + " of " + numExperts + " experts");
        }
    }

    /** Mixtral's fields. */
    public static MoeSpec mixtral(ModelConfig config) {
        ConfigFields f = ConfigFields.of(config);
        int experts = f.positiveInt("num_local_experts");
        int k = f.positiveInt("num_experts_per_tok");
        if (k > experts) {
            throw JLightException.inFile(config.file(), "field 'num_experts_per_tok' = " + k
                    + " is more than num_local_experts = " + experts);
        }
        return new MoeSpec(experts, k, true);
    }
}
