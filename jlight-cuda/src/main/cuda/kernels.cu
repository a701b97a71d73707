// The one translation unit nvcc compiles into kernels.fatbin: every op family's file, so the
// build is a single nvcc call and the backend loads a single module.
#include "elementwise.cu"
#include "embedding.cu"
#include "norm.cu"
#include "rope.cu"
#include "attention.cu"
#include "attention_split.cu"
#include "attention_decode.cu"
#include "attention_decode_tc.cu"
#include "gemv.cu"
#include "attention_flash.cu"
#include "sampling.cu"
#include "moe.cu"
