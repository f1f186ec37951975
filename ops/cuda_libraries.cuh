// cuBLAS and cuDNN for CUDA translation units: status checks shaped like CUDA_CHECK
// (allocator/cuda_check.h), and the library handles tally keeps (ops/cuda_libraries.cu).
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include <string>
#include <string_view>

#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/dtype.h"

namespace tally::ops::cuda {

// cuBLAS's name for a dtype it multiplies (f32, f16, bf16); other dtypes fail naming `op`.
inline cudaDataType_t blas_data_type(DType dtype, std::string_view op) {
  switch (dtype) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f16:
      return CUDA_R_16F;
    case DType::bf16:
      return CUDA_R_16BF;
    default:
      throw UsageError(std::string(op) + ": cuBLAS multiplies f32, f16 and bf16, not " +
                       std::string(dtype_name(dtype)));
  }
}

// The message cuDNN left for the calling thread's last failure, or the status's name.
inline std::string cudnn_error_message(cudnnStatus_t status) {
  char message[512] = {};
  cudnnGetLastErrorString(message, sizeof message);
  return message[0] != '\0' ? std::string(message) : std::string(cudnnGetErrorString(status));
}

// The cuBLAS handle of `stream`, created on first use: it runs on that stream, with the math
// mode f32-accumulating GEMMs need, and its workspace is a tally allocation (tag workspace, scope
// "(cublas)") held for the rest of the process. The stream's device must be current (compute_stream
// does that).
cublasHandle_t blas_handle(const CudaStream& stream);

// The cuDNN handle of stream's device, created on first use, set to run on `stream`.
cudnnHandle_t dnn_handle(const CudaStream& stream);

}  // namespace tally::ops::cuda

// Unlike CUDA_CHECK (allocator/cuda_check.h), these read no CUDA error away: cuBLAS and cuDNN do
// not call tally's CUDA runtime. Their shared libraries import no runtime symbol (nm -D on
// cuBLAS 13.1 and cuDNN 9.19): they load the driver themselves, so a runtime error inside them
// stays in their own runtime and is never tally's last error. cudaGetLastError() here would
// only take away an error that tally's own calls left, unreported. A kernel fault inside a
// library is sticky: tally's next runtime call reports it, and nothing could clear it.
#define CUBLAS_CHECK(call)                                                                        \
  do {                                                                                            \
    const cublasStatus_t tally_status_ = (call);                                                  \
    if (tally_status_ != CUBLAS_STATUS_SUCCESS) {                                                 \
      throw ::tally::Error(::tally::ErrorKind::device, #call, cublasGetStatusName(tally_status_), \
                           cublasGetStatusString(tally_status_));                                 \
    }                                                                                             \
  } while (0)

#define CUDNN_CHECK(call)                                                                         \
  do {                                                                                            \
    const cudnnStatus_t tally_status_ = (call);                                                   \
    if (tally_status_ != CUDNN_STATUS_SUCCESS) {                                                  \
      throw ::tally::Error(::tally::ErrorKind::device, #call, cudnnGetErrorString(tally_status_), \
                           ::tally::ops::cuda::cudnn_error_message(tally_status_));               \
    }                                                                                             \
  } while (0)
