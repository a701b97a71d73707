package dev.jlight.core.weights;

import dev.jlight.core.JLightException;

/** Element types of tensors. The safetensors names are the ones its header uses. */
public enum DType {
    F32("F32", 4),
    F16("F16", 2),
    BF16("BF16", 2),
    I32("I32", 4),
    I8("I8", 1);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    /** Weight dtypes a model may be stored in (activations and indices use F32 / I32). */
    public boolean isFloatWeight() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** Parses a safetensors dtype name; names safetensors knows but JLight does not load are rejected. */
    public static DType fromSafetensors(String name, String where) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new JLightException(where + ": dtype " + name + " is not supported (supported: F32, F16, BF16"
                + ", I32, I8)");
    }

    /** Reads a bf16 value (the upper 16 bits of an f32). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds an f32 to bf16, round-to-nearest-even as torch does. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // quiet NaN
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
