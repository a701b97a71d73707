package dev.jlight.cuda;

import dev.jlight.core.JLightException;
import dev.jlight.core.model.DeviceSampling;
import dev.jlight.core.weights.DType;
import java.util.Locale;

/**
 * The launch of sampling.cu's {@code sample_rows_f32} for {@link CudaBackend#sample}: checks the
 * tensors and picks the geometry (one block per row, a power-of-two thread count up to 1024, no
 * more threads than the vocabulary needs). Every per-step value (temperatures, top_k, top_p,
 * min_p, uniforms) lives in the params tensor, not in the kernel's arguments, so a CUDA graph
 * replays the launch unchanged while the engine uploads new params each step.
 */
final class CudaSampler {
    static final String KERNEL = "sample_rows_f32";
    private static final int MAX_THREADS = 1024;
    private static final int MAX_GRID = 65535;

    /** One launch: kernel, grid, block, arguments, and the op's shape for error messages. */
    record Launch(int grid, int block, Object[] args, String what) {
    }

    private CudaSampler() {
    }

    /** ids I32 [R] (an [R, 1] view), logits F32 [R, V], params I32 [R, 2 * FIELDS] (the packed doubles). */
    static Launch plan(CudaTensor ids, CudaTensor logits, CudaTensor params) {
        if (logits.dtype() != DType.F32) {
            throw new JLightException("sample: logits must be F32, got " + logits);
        }
        if (ids.dtype() != DType.I32 || params.dtype() != DType.I32) {
            throw new JLightException("sample: ids and params must be I32, got " + ids + " and " + params);
        }
        long r = logits.rows();
        long v = logits.cols();
        if (ids.numel() != r || params.rows() != r || params.cols() != 2L * DeviceSampling.FIELDS) {
            throw new JLightException("sample: shapes do not fit: ids " + ids + ", logits " + logits + ", params "
                    + params + " (want ids [R], params [R, " + 2 * DeviceSampling.FIELDS + "])");
        }
        if (!params.isContiguous()) {
            throw new JLightException("sample: params " + params + " must be contiguous");
        }
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw new JLightException("sample: vocabulary of " + v + " columns");
        }
        int block = threads(v);
        long ldi = ids.rank() == 1 ? 1 : ids.rowStride();
        String what = String.format(Locale.ROOT, "sample(R=%d,V=%d)", r, v);
        Object[] args = {ids.ptr(), logits.ptr(), params.ptr(), (int) r, (int) v, logits.rowStride(), ldi};
        return new Launch((int) Math.min(Math.max(r, 1), MAX_GRID), block, args, what);
    }

    /** Threads per row: the power of two covering the vocabulary, 32 to 1024. */
    static int threads(long vocab) {
        int t = 32;
        while (t < MAX_THREADS && t < vocab) {
            t <<= 1;
        }
        return t;
    }
}
