package dev.jlight.core.testing;

import dev.jlight.core.backend.KvCache;
import dev.jlight.core.engine.sample.Sampler;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.model.ForwardBatch;
import dev.jlight.core.model.Model;
import java.util.Set;

/**
 * A model that "samples on the device" with the host {@link Sampler} over its own logits (the
 * backend op's reference twin), so engine paths that need a device-sampling model run on any
 * model, the CPU one included. Synchronous: {@link #launchSampled} computes on launch.
 */
public final class HostSampledModel extends ForwardingModel {

    public HostSampledModel(Model inner) {
        super(inner);
    }

    /** The picks for each logit row of {@code logits} ([rows, vocab]) under {@code sampling}. */
    public static int[] pick(float[] logits, int vocab, DeviceSampling sampling) {
        Sampler sampler = new Sampler(vocab, Set.of());
        int[] ids = new int[sampling.rows()];
        for (int r = 0; r < ids.length; r++) {
            ids[r] = sampler.sample(logits, r * vocab, sampling, r);
        }
        return ids;
    }

    @Override
    public boolean samplesOnDevice() {
        return true;
    }

    @Override
    public int[] forwardSampled(ForwardBatch batch, KvCache kv, DeviceSampling sampling) {
        if (sampling.rows() != batch.logitRows().length) {
            throw new IllegalArgumentException(sampling.rows() + " sampling rows for " + batch.logitRows().length
                    + " logit rows");
        }
        return pick(inner.forward(batch, kv), inner.vocabSize(), sampling);
    }
}
