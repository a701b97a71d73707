// A stand-in libcuda.so.1 / libcublasLt.so.13 for exercising the Java side without a GPU:
// memory is host memory, copies are memcpy, launches are logged (kernels do not run).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
typedef int CUresult;
static int launches = 0;
static int capturing = 0, captured = 0;
static int verbose = -1;
static int v(void) { if (verbose < 0) verbose = getenv("FAKE_CUDA_VERBOSE") != NULL; return verbose; }
CUresult cuInit(unsigned f) { return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int* c) { *c = 1; return 0; }
CUresult cuDeviceGet(int* d, int o) { *d = o; return 0; }
CUresult cuDeviceGetName(char* n, int len, int d) { snprintf(n, len, "Fake GPU"); return 0; }
CUresult cuDeviceGetAttribute(int* v, int a, int d) { *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 132 : 1; return 0; }
CUresult cuDevicePrimaryCtxRetain(void** c, int d) { *c = (void*) 0x1000; return 0; }
CUresult cuCtxSetCurrent(void* c) { return c == (void*) 0x1000 ? 0 : 201; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuMemGetInfo_v2(size_t* f, size_t* t) { *f = 8ULL << 30; *t = 10ULL << 30; return 0; }
CUresult cuMemAlloc_v2(uint64_t* p, size_t n) {
    void* m = aligned_alloc(4096, (n + 4095) / 4096 * 4096);
    if (!m) return 2;
    *p = (uint64_t) m;
    if (v()) fprintf(stderr, "fake: cuMemAlloc %zu -> %p\n", n, m);
    return 0;
}
CUresult cuMemFree_v2(uint64_t p) { free((void*) p); return 0; }
CUresult cuMemAllocHost_v2(void** p, size_t n) { *p = malloc(n); return 0; }
CUresult cuMemFreeHost(void* p) { free(p); return 0; }
CUresult cuMemcpyHtoD_v2(uint64_t d, const void* s, size_t n) { memcpy((void*) d, s, n); return 0; }
CUresult cuMemcpyDtoH_v2(void* d, uint64_t s, size_t n) { memcpy(d, (void*) s, n); return 0; }
CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void* s, size_t n, void* st) { memcpy((void*) d, s, n); return 0; }
CUresult cuMemcpyDtoHAsync_v2(void* d, uint64_t s, size_t n, void* st) { memcpy(d, (void*) s, n); return 0; }
CUresult cuMemcpyDtoDAsync_v2(uint64_t d, uint64_t s, size_t n, void* st) { memmove((void*) d, (void*) s, n); return 0; }
CUresult cuMemsetD8Async(uint64_t d, unsigned char c, size_t n, void* st) { memset((void*) d, c, n); return 0; }
CUresult cuModuleLoadData(void** m, const void* img) {
    if (*(const uint32_t*) img != 0xBA55ED50u) return 200; // CUDA_ERROR_INVALID_IMAGE
    *m = (void*) 0x2000; return 0;
}
CUresult cuModuleUnload(void* m) { return 0; }
CUresult cuModuleGetFunction(void** f, void* m, const char* name) { *f = strdup(name); return 0; }
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void* st, void** params, void** extra) {
    launches++;
    if (capturing) captured++;
    if (gx == 0 || gy == 0 || bx == 0 || bx > 1024 || gy > 65535 || smem > 48 * 1024) return 1; // INVALID_VALUE
    if (v()) fprintf(stderr, "fake: launch %s<<<(%u,%u),%u,%u>>> p0=%#lx p1=%#lx\n", (char*) f, gx, gy, bx, smem,
                     *(unsigned long*) params[0], *(unsigned long*) params[1]);
    return 0;
}
// cuLaunchKernelEx with the one attribute JLight sets (PROGRAMMATIC_STREAM_SERIALIZATION = 1):
// checks the struct layout the Java side wrote (LaunchConfig), then counts it as a launch.
typedef struct { unsigned gx, gy, gz, bx, by, bz, smem; void* st; int* attrs; unsigned n; } FakeLaunchConfig;
static int ex_launches = 0;
CUresult cuLaunchKernelEx(const FakeLaunchConfig* c, void* f, void** params, void** extra) {
    if (c->n != 1 || c->attrs[0] != 6 || c->attrs[2] != 1 || c->gz != 1 || c->by != 1 || c->bz != 1
        || c->st != (void*) 0x3000) return 1; // INVALID_VALUE
    ex_launches++;
    return cuLaunchKernel(f, c->gx, c->gy, c->gz, c->bx, c->by, c->bz, c->smem, c->st, params, extra);
}
// for FakeDriverSmoke: launches so far, and how many of them were programmatic
int fake_launch_counts(int* all, int* programmatic) { *all = launches; *programmatic = ex_launches; return 0; }
CUresult cuStreamCreate(void** s, unsigned f) { *s = (void*) 0x3000; return 0; }
CUresult cuStreamSynchronize(void* s) { return capturing ? 901 : 0; }
CUresult cuStreamDestroy_v2(void* s) { return 0; }
CUresult cuEventCreate(void** e, unsigned f) { *e = malloc(8); return 0; }
CUresult cuEventRecord(void* e, void* s) { return 0; }
CUresult cuEventSynchronize(void* e) { return 0; }
CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { *ms = 0.5f; return 0; }
CUresult cuEventDestroy_v2(void* e) { free(e); return 0; }
CUresult cuEventQuery(void* e) { return 0; }
// graphs: capture only counts the launches; a replay "runs" nothing (kernels never run here)
CUresult cuStreamBeginCapture_v2(void* s, int mode) { if (capturing) return 900; capturing = 1; captured = 0; return 0; }
CUresult cuStreamEndCapture(void* s, void** g) {
    if (!capturing) return 900;
    capturing = 0; int* n = malloc(sizeof(int)); *n = captured; *g = n;
    if (v()) fprintf(stderr, "fake: captured %d launches\n", captured);
    return 0;
}
CUresult cuGraphInstantiateWithFlags(void** e, void* g, unsigned long long f) { *e = g; return 0; }
CUresult cuGraphLaunch(void* e, void* s) { if (v()) fprintf(stderr, "fake: graph launch (%d)\n", *(int*) e); return 0; }
CUresult cuGraphExecDestroy(void* e) { return 0; }
CUresult cuGraphDestroy(void* g) { free(g); return 0; }
CUresult cuGetErrorName(CUresult r, const char** s) { *s = r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_FAKE"; return 0; }
CUresult cuGetErrorString(CUresult r, const char** s) { *s = "fake"; return 0; }
// cuBLASLt
int cublasLtCreate(void** h) { *h = (void*) 0x4000; return 0; }
int cublasLtDestroy(void* h) { return 0; }
size_t cublasLtGetVersion(void) { return 130100; }
typedef struct { int compute, scale, transa, transb; } Desc;
typedef struct { int type; uint64_t rows, cols; int64_t ld; } Layout;
int cublasLtMatmulDescCreate(Desc** d, int compute, int scale) {
    *d = calloc(1, sizeof(Desc)); (*d)->compute = compute; (*d)->scale = scale;
    return compute == 68 && scale == 0 ? 0 : 7;
}
int cublasLtMatmulDescSetAttribute(Desc* d, int attr, const void* buf, size_t n) {
    if (n != 4) return 7;
    if (attr == 3) d->transa = *(const int*) buf; else if (attr == 4) d->transb = *(const int*) buf; else return 7;
    return 0;
}
int cublasLtMatmulDescDestroy(Desc* d) { free(d); return 0; }
int cublasLtMatrixLayoutCreate(Layout** l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (ld < (int64_t) rows) return 7;
    *l = malloc(sizeof(Layout)); (*l)->type = type; (*l)->rows = rows; (*l)->cols = cols; (*l)->ld = ld; return 0;
}
int cublasLtMatrixLayoutDestroy(Layout* l) { free(l); return 0; }
int cublasLtMatmulPreferenceCreate(void** p) { *p = malloc(8); return 0; }
int cublasLtMatmulPreferenceSetAttribute(void* p, int attr, const void* buf, size_t n) {
    if (attr == 1 && n == 8) return 0;
    if (attr >= 5 && attr <= 8 && n == 4 && *(const unsigned*) buf >= 2) return 0;
    return 7;
}
int cublasLtMatmulPreferenceDestroy(void* p) { free(p); return 0; }
int cublasLtMatmulAlgoGetHeuristic(void* h, Desc* d, Layout* a, Layout* b, Layout* c, Layout* dd, void* p, int req,
                                   char* res, int* count) {
    // op(A) = A^T [cols x rows]; B [rows x cols]; D = op(A) op(B): m = a->cols, k = a->rows, n = b->cols
    if (d->transa != 1 || d->transb != 0 || a->rows != b->rows || dd->rows != a->cols || dd->cols != b->cols
        || a->type != 14 || b->type != 14 || (dd->type != 14 && dd->type != 0) || req < 1) return 7;
    // up to 3 equal candidates, so that the backend's timing of cuBLASLt's candidates runs
    int n = req < 3 ? req : 3;
    memset(res, 0, 96 * (size_t) n); *count = n; return 0;
}
int cublasLtMatmul(void* h, Desc* d, const float* alpha, const void* A, Layout* al, const void* B, Layout* bl,
                   const float* beta, const void* C, Layout* cl, void* D, Layout* dl, const void* algo, void* ws,
                   size_t wsb, void* st) {
    if (*alpha != 1.0f || *beta != 0.0f || C != D) return 7;
    if (v()) fprintf(stderr, "fake: matmul m=%lu n=%lu k=%lu lda=%ld ldb=%ld ldd=%ld\n", al->cols, bl->cols, al->rows,
                     al->ld, bl->ld, dl->ld);
    return 0;
}
