"""Shared by the peer scripts: refuse to measure Debian's reference BLAS.

On a fresh Debian machine python3-torch and python3-numpy may come with libblas3, the reference implementation, as
the libblas.so.3 alternative (a few GFLOP/s); a peer figure from it would measure that fallback, not OpenBLAS.
"""
import sys


def refuse_reference_blas():
    """Prints the peer protocol's n/a line and exits when this process mapped the reference libblas."""
    with open("/proc/self/maps") as f:
        if "/blas/libblas.so" in f.read():
            print("n/a\tthe BLAS alternative is Debian's reference libblas3, not OpenBLAS (apt-get install libopenblas0-pthread)")
            sys.exit(0)
