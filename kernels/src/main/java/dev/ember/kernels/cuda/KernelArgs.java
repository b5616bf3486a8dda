package dev.ember.kernels.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;

import java.util.ArrayList;
import java.util.List;

/**
 * The parameter list of one kernel launch, in the order of the kernel's signature: device addresses, scalars and
 * small structs passed by value (packed as 32-bit words, which is the layout of the .cu structs of ints and floats).
 */
final class KernelArgs {
    private final List<NativePointerObject> params = new ArrayList<>();

    KernelArgs address(long deviceAddress) { return add(Pointer.to(new long[] {deviceAddress})); }

    KernelArgs i32(int v) { return add(Pointer.to(new int[] {v})); }

    KernelArgs i64(long v) { return add(Pointer.to(new long[] {v})); }

    KernelArgs f32(float v) { return add(Pointer.to(new float[] {v})); }

    /** A struct of 32-bit ints and floats (floats given as {@link Float#floatToRawIntBits}). */
    KernelArgs words(int... words) { return add(Pointer.to(words.clone())); }

    /** The {@code Strided} struct of ember.cuh. */
    KernelArgs strided(Strided s) { return words(s.words()); }

    Pointer pointer() { return Pointer.to(params.toArray(new NativePointerObject[0])); }

    private KernelArgs add(Pointer p) {
        params.add(p);
        return this;
    }
}
