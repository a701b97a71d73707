// Row gathers: the token embedding lookup and the selection of the rows that need logits. Both
// are out[i] = src[idx[i]]: one block per output row, threads over the columns. An index
// out of range writes NaN to the row, so a bad id shows up in the logits instead of reading
// memory outside the table. Last, the patch of an overlapped step's ids that feeds the embedding.
#include "common.cuh"

// out [n, cols] (stride ldo) = src [numSrc, cols] (stride lds) rows at idx [n] (I32, stride ldi)
extern "C" __global__ void gather_rows_bf16(bf16* out, const bf16* src, const int* idx, int n, int cols,
                                            int numSrc, long long ldo, long long lds, long long ldi) {
    pdl_entry();
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        int row = idx[i * ldi];
        bf16* o = out + i * ldo;
        if (row < 0 || row >= numSrc) {
            for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = __float2bfloat16_rn(__int_as_float(0x7fc00000));
            continue;
        }
        const bf16* s = src + (long long) row * lds;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = s[c];
    }
}

// Same for f32 rows (gatherRows on f32 tensors).
extern "C" __global__ void gather_rows_f32(float* out, const float* src, const int* idx, int n, int cols,
                                           int numSrc, long long ldo, long long lds, long long ldi) {
    pdl_entry();
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        int row = idx[i * ldi];
        float* o = out + i * ldo;
        if (row < 0 || row >= numSrc) {
            for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = __int_as_float(0x7fc00000);
            continue;
        }
        const float* s = src + (long long) row * lds;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = s[c];
    }
}

// An overlapped step's token ids that the host does not know yet (Backend.takePreviousIds):
// ids[t] = prev[rows[t]] where rows[t] >= 0, the previous step's pick for that logit row, read
// on the device right before the embedding gather. A row past the numPrev ids gives -1, which
// the gather turns into a NaN row. Not a PDL kernel: it starts a step, after the step's uploads.
// ids [n] (stride ldi), prev [numPrev] (stride ldp), rows [n] (stride ldr), all I32.
extern "C" __global__ void take_previous_ids(int* ids, const int* prev, const int* rows, int n, int numPrev,
                                             long long ldi, long long ldp, long long ldr) {
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < n; t += gridDim.x * blockDim.x) {
        int r = rows[t * ldr];
        if (r >= 0) ids[t * ldi] = r < numPrev ? prev[r * ldp] : -1;
    }
}
