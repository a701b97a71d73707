package dev.jlight.cuda;

import dev.jlight.core.JLightException;

/**
 * A CUDA driver or cuBLASLt call that returned an error: the message names the call (with the
 * arguments that matter) and the result's name, e.g. {@code cuMemAlloc_v2(17179869184 bytes) failed:
 * CUDA_ERROR_OUT_OF_MEMORY (out of memory)}.
 */
public class CudaException extends JLightException {
    private final int code;
    private final String codeName;

    public CudaException(String call, int code, String codeName, String detail) {
        super(call + " failed: " + codeName + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.code = code;
        this.codeName = codeName;
    }

    /** The CUresult or cublasStatus_t value. */
    public int code() {
        return code;
    }

    /** Its name, e.g. CUDA_ERROR_OUT_OF_MEMORY. */
    public String codeName() {
        return codeName;
    }
}
