package dev.jlight.cpu;

import static dev.jlight.cpu.TestSupport.assertClose;
import static dev.jlight.cpu.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.jlight.core.backend.RopeSpec;
import dev.jlight.core.backend.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * rope on q and k cut from one fused QKV buffer (so both are strided views, and V beside them must
 * stay untouched), against HF's math: f32 angle = position * invFreq, then the rotation in double.
 */
class RopeTest {
    private static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (int hd : new int[] {16, 48, 64, 128}) {
            for (int t : new int[] {1, 3, 17}) {
                out.add(Arguments.of(hd, hd, "default", t));
                out.add(Arguments.of(hd, hd / 2, "llama3", t));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "rope(headDim={0},rotaryDim={1},scaling={2},T={3})")
    @MethodSource("cases")
    void rope(int hd, int rotary, String scaling, int t) {
        int nh = 4;
        int nkv = 2;
        RopeSpec.Scaling sc = scaling.equals("default") ? RopeSpec.Scaling.NONE
                : new RopeSpec.Scaling("llama3", 8.0, 1.0, 4.0, 8192);
        RopeSpec spec = new RopeSpec(hd, rotary, 500000.0, sc);
        int width = (nh + 2 * nkv) * hd;
        SplittableRandom rnd = new SplittableRandom(hd * 31L + t + rotary);
        float[] qkv = random(rnd, t * width, 2);
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i == 0 ? 0 : rnd.nextInt(9000);
        }
        Tensor all = TestSupport.input(backend, qkv, t, width, true);
        Tensor q = backend.sliceCols(all, 0, nh * hd);
        Tensor k = backend.sliceCols(all, nh * hd, (nh + nkv) * hd);
        Tensor v = backend.sliceCols(all, (nh + nkv) * hd, width);
        backend.rope(q, k, CpuTensor.of(pos), spec, nh, nkv);

        float[] inv = spec.inverseFrequencies();
        double[] ref = new double[t * width];
        for (int i = 0; i < t; i++) {
            for (int c = 0; c < width; c++) {
                ref[i * width + c] = qkv[i * width + c];
            }
            for (int h = 0; h < nh + nkv; h++) {
                int base = i * width + h * hd;
                for (int j = 0; j < rotary / 2; j++) {
                    float angle = pos[i] * inv[j];
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    double x1 = qkv[base + j];
                    double x2 = qkv[base + rotary / 2 + j];
                    ref[base + j] = x1 * cos - x2 * sin;
                    ref[base + rotary / 2 + j] = x2 * cos + x1 * sin;
                }
            }
        }
        assertClose("rope", ref, ((CpuTensor) all).toFloatArray());
        float[] vRef = new float[t * nkv * hd];
        for (int i = 0; i < t; i++) {
            System.arraycopy(qkv, i * width + (nh + nkv) * hd, vRef, i * nkv * hd, nkv * hd);
        }
        assertArrayEquals(vRef, ((CpuTensor) v).toFloatArray(), "V is not rotated");
    }
}
