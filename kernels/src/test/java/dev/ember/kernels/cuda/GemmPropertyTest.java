package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code -Dember.cuda.gemm}: unset or cublas keeps cuBLAS, own forces the sgemm.cu kernel, anything else is an error;
 * {@code -Dember.cuda.conv} likewise with cudnn and im2col.
 */
class GemmPropertyTest {
    @Test void cublasUnlessOwnIsAsked() {
        assertNull(CudaBackend.ownGemmReason(null));
        assertNull(CudaBackend.ownGemmReason(""));
        assertNull(CudaBackend.ownGemmReason("cublas"));
        assertEquals("-Dember.cuda.gemm=own", CudaBackend.ownGemmReason(" own "));
    }

    @Test void anotherValueNamesTheProperty() {
        BackendException e = assertThrows(BackendException.class, () -> CudaBackend.ownGemmReason("cutlass"));
        assertTrue(e.getMessage().contains("-Dember.cuda.gemm=cutlass") && e.getMessage().contains("cublas or own"), e.getMessage());
    }

    @Test void theConvolutionPropertyWorksTheSameWay() {
        assertNull(CudaBackend.fallbackReason(CudaBackend.CONV_PROPERTY, null, "cudnn", "im2col"));
        assertNull(CudaBackend.fallbackReason(CudaBackend.CONV_PROPERTY, "cudnn", "cudnn", "im2col"));
        assertEquals("-Dember.cuda.conv=im2col", CudaBackend.fallbackReason(CudaBackend.CONV_PROPERTY, "im2col ", "cudnn", "im2col"));
        BackendException e = assertThrows(BackendException.class, () -> CudaBackend.fallbackReason(CudaBackend.CONV_PROPERTY, "winograd", "cudnn", "im2col"));
        assertEquals("-Dember.cuda.conv=winograd: expected cudnn or im2col", e.getMessage());
    }
}
