package dev.jlight.cpu;

import dev.jlight.core.weights.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Loads and stores of the float dtypes, scalar and as {@link FloatVector}s of the preferred
 * species. BF16 and F16 are widened one vector at a time in registers (never a copy of a
 * matrix): bf16 is the upper half of an f32, so a sign-extended short shifted left by 16 is the
 * f32 bit pattern; f16 is rebuilt with integer ops (exponent rebias by a multiply by 2^112, which
 * also handles subnormals exactly; Inf/NaN patched in).
 */
final class Vec {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** As many shorts as F has floats. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private static final float F16_SCALE = 0x1p112f;
    /** Sign, exponent and mantissa of an f16 after it is shifted into f32 position (bits 30..28 and 12..0 clear). */
    private static final int F16_FIELDS = 0x8fffe000;

    private Vec() {
    }

    // ---- vector loads at a byte offset ----------------------------------------------------------

    static FloatVector f32(MemorySegment s, long byteOff) {
        return FloatVector.fromMemorySegment(F, s, byteOff, LE);
    }

    static FloatVector bf16(MemorySegment s, long byteOff) {
        return ShortVector.fromMemorySegment(S, s, byteOff, LE)
                .convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    static FloatVector f16(MemorySegment s, long byteOff) {
        return f16Bits((IntVector) ShortVector.fromMemorySegment(S, s, byteOff, LE)
                .convertShape(VectorOperators.S2I, I, 0));
    }

    /** f16 bit patterns in the low 16 bits of each lane (upper bits ignored) widened to f32. */
    static FloatVector f16Bits(IntVector h) {
        return f16Placed(h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(F16_FIELDS));
    }

    /**
     * Finishes an f16 → f32 widening from {@code b} = the f16 shifted into f32 position (sign at
     * bit 31, bits 30..28 clear, exponent at 27..23, mantissa at 22..13). Multiplying by 2^112
     * rebiases normals and turns subnormals into the right normals, exactly, keeping the sign.
     * Inf/NaN (exponent 31) get the f32 exponent forced to 255 by {@link #f16InfBits}.
     * Kept as small methods: C2 must inline all of it into the matmul loops (one 86-byte method
     * was refused there, "callee is too large", and boxed every vector).
     */
    static FloatVector f16Placed(IntVector b) {
        return b.reinterpretAsFloats().mul(F16_SCALE).reinterpretAsInts().or(f16InfBits(b)).reinterpretAsFloats();
    }

    /** 0x7f800000 in lanes whose f16 exponent is 31, else 0: bit 28 of b + 0x00800000, spread by shifts. */
    static IntVector f16InfBits(IntVector b) {
        return b.add(0x00800000).lanewise(VectorOperators.LSHL, 3).lanewise(VectorOperators.ASHR, 31).and(0x7f800000);
    }

    // ---- pairs: 2L 16-bit elements loaded as L ints, split into even and odd elements -----------

    /** L ints = 2L 16-bit elements starting at byteOff. */
    static IntVector ints(MemorySegment s, long byteOff) {
        return IntVector.fromMemorySegment(I, s, byteOff, LE);
    }

    /** Elements 0, 2, 4, ... of a pair load (the low halves) as f32. */
    static FloatVector bf16Even(IntVector p) {
        return p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Elements 1, 3, 5, ... of a pair load (the high halves) as f32. */
    static FloatVector bf16Odd(IntVector p) {
        return p.and(0xffff0000).reinterpretAsFloats();
    }

    static FloatVector f16Even(IntVector p) {
        return f16Placed(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(F16_FIELDS));
    }

    static FloatVector f16Odd(IntVector p) {
        return f16Placed(p.lanewise(VectorOperators.ASHR, 3).and(F16_FIELDS));
    }

    /** A vector of F.length() elements starting at element {@code index}, widened to f32. */
    static FloatVector loadVec(DType dt, MemorySegment s, long index) {
        return switch (dt) {
            case F32 -> f32(s, index * 4);
            case BF16 -> bf16(s, index * 2);
            case F16 -> f16(s, index * 2);
            default -> throw new IllegalArgumentException("not a float dtype: " + dt);
        };
    }

    // ---- scalar ---------------------------------------------------------------------------------

    static float load(DType dt, MemorySegment s, long index) {
        return switch (dt) {
            case F32 -> s.get(FLOAT, index * 4);
            case BF16 -> DType.bf16ToFloat(s.get(SHORT, index * 2));
            case F16 -> Float.float16ToFloat(s.get(SHORT, index * 2));
            default -> throw new IllegalArgumentException("not a float dtype: " + dt);
        };
    }

    static void store(DType dt, MemorySegment s, long index, float v) {
        switch (dt) {
            case F32 -> s.set(FLOAT, index * 4, v);
            case BF16 -> s.set(SHORT, index * 2, DType.floatToBf16(v));
            case F16 -> s.set(SHORT, index * 2, Float.floatToFloat16(v));
            default -> throw new IllegalArgumentException("not a float dtype: " + dt);
        }
    }

    static float getF(MemorySegment s, long index) {
        return s.get(FLOAT, index * 4);
    }

    static void setF(MemorySegment s, long index, float v) {
        s.set(FLOAT, index * 4, v);
    }

    static int getI(MemorySegment s, long index) {
        return s.get(INT, index * 4);
    }
}
