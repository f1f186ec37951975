# Resolves TALLY_CUDA and TALLY_MPI (AUTO, ON, OFF) into TALLY_WITH_CUDA and TALLY_WITH_MPI, and,
# with CUDA, finds NCCL (TALLY_WITH_NCCL).

foreach(opt TALLY_CUDA TALLY_MPI)
  if(NOT ${opt} MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "${opt} must be AUTO, ON or OFF, not '${${opt}}'")
  endif()
endforeach()

set(TALLY_WITH_CUDA OFF)
if(NOT TALLY_CUDA STREQUAL "OFF")
  # CMake 3.25 looks for nvcc only on PATH and through CUDACXX; the toolkit's usual home is
  # tried as well so that a default install is found without either.
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(TALLY_NVCC nvcc)
    if(NOT TALLY_NVCC AND EXISTS /usr/local/cuda/bin/nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    # CMake 3.25 knows nvcc's dialect flags only up to C++17; nvcc 12 and later accept C++20.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    # cuDNN ships inside the toolkit's folders on some machines and in Python wheels on others:
    # TALLY_CUDNN_ROOT (cache variable or environment) points there.
    find_library(TALLY_CUDNN_LIBRARY cudnn
      HINTS ${TALLY_CUDNN_ROOT} ENV TALLY_CUDNN_ROOT ${CUDAToolkit_LIBRARY_DIR}
            ${CUDAToolkit_LIBRARY_ROOT}/lib
      PATH_SUFFIXES lib lib64)
    find_path(TALLY_CUDNN_INCLUDE cudnn.h
      HINTS ${TALLY_CUDNN_ROOT} ENV TALLY_CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
      PATH_SUFFIXES include)
    if(TALLY_CUDNN_LIBRARY AND TALLY_CUDNN_INCLUDE)
      set(TALLY_WITH_CUDA ON)
    elseif(TALLY_CUDA STREQUAL "ON")
      message(FATAL_ERROR "TALLY_CUDA=ON but cuDNN was not found (set TALLY_CUDNN_ROOT)")
    else()
      message(WARNING "nvcc found but cuDNN not: building without CUDA (set TALLY_CUDNN_ROOT)")
    endif()
  elseif(TALLY_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TALLY_CUDA=ON but no CUDA compiler was found "
                        "(put nvcc on PATH or set CUDACXX)")
  endif()
endif()

set(TALLY_WITH_MPI OFF)
if(NOT TALLY_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(TALLY_WITH_MPI ON)
  elseif(TALLY_MPI STREQUAL "ON")
    message(FATAL_ERROR "TALLY_MPI=ON but MPI was not found (install libopenmpi-dev)")
  endif()
endif()

# NCCL is not part of the toolkit, but is often installed into its folders; elsewhere (the
# nvidia-nccl wheel PyTorch installs, a tarball) TALLY_NCCL_ROOT points there. CUDA without NCCL
# builds without it: cuda tensors then have no process group of more than one rank.
set(TALLY_WITH_NCCL OFF)
if(TALLY_WITH_CUDA)
  find_path(TALLY_NCCL_INCLUDE nccl.h
    HINTS ${TALLY_NCCL_ROOT} ENV TALLY_NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS}
    PATH_SUFFIXES include)
  find_library(TALLY_NCCL_LIBRARY NAMES nccl libnccl.so.2
    HINTS ${TALLY_NCCL_ROOT} ENV TALLY_NCCL_ROOT ${CUDAToolkit_LIBRARY_DIR}
          ${CUDAToolkit_LIBRARY_ROOT}/lib
    PATH_SUFFIXES lib lib64)
  if(TALLY_NCCL_INCLUDE AND TALLY_NCCL_LIBRARY)
    set(TALLY_WITH_NCCL ON)
    # Loaded at run time (distributed/nccl_library.cpp): by its soname first, then from here.
    get_filename_component(TALLY_NCCL_LIBRARY_PATH "${TALLY_NCCL_LIBRARY}" REALPATH)
  else()
    message(STATUS "tally: NCCL not found (set TALLY_NCCL_ROOT): building without it")
  endif()
endif()

if(TALLY_WITH_CUDA)
  set(TALLY_CUDA_ARCHS "${CMAKE_CUDA_ARCHITECTURES}")
else()
  set(TALLY_CUDA_ARCHS "")
endif()
message(STATUS "tally: CUDA ${TALLY_WITH_CUDA} (${TALLY_CUDA_ARCHS}), MPI ${TALLY_WITH_MPI}, "
               "NCCL ${TALLY_WITH_NCCL}, sanitizers ${TALLY_SANITIZE}")
