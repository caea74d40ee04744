"""Hold 8 GiB of GPU memory through the CUDA driver API (ctypes, no framework), so the
GPU comparison sees non-zero memory use; runs until killed."""

import ctypes
import sys
import time

cuda = ctypes.CDLL("libcuda.so.1")


def check(rc, what):
    if rc != 0:
        sys.exit(f"{what} failed: {rc}")


check(cuda.cuInit(0), "cuInit")
dev = ctypes.c_int()
check(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
ctx = ctypes.c_void_p()
check(cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev), "cuCtxCreate")
ptr = ctypes.c_uint64()
check(cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(8 << 30)), "cuMemAlloc")
check(cuda.cuMemsetD8_v2(ptr, 1, ctypes.c_size_t(8 << 30)), "cuMemsetD8")
print("holding 8 GiB", flush=True)
time.sleep(120)
