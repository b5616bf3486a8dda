package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;


import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Signal processing on the host: the Hann, Hamming and Blackman windows and the discrete Fourier transform
 * (complex values as a trailing axis of 2: real, imaginary). Values, not differentiable.
 */
final class SignalOps {
    private SignalOps() {}

    static void register(OpTable t) {
        t.add("HannWindow", 17, (n, in, v) -> one(window(n, Args.in(n, in, 0), (k, len) -> 0.5 - 0.5 * Math.cos(2 * Math.PI * k / len))));
        t.add("HammingWindow", 17, (n, in, v) -> one(window(n, Args.in(n, in, 0),
                (k, len) -> 25.0 / 46 - (1 - 25.0 / 46) * Math.cos(2 * Math.PI * k / len))));
        t.add("BlackmanWindow", 17, (n, in, v) -> one(window(n, Args.in(n, in, 0),
                (k, len) -> 0.42 - 0.5 * Math.cos(2 * Math.PI * k / len) + 0.08 * Math.cos(4 * Math.PI * k / len))));
        t.add("DFT", 17, (n, in, v) -> one(dft(n, Args.in(n, in, 0), Args.opt(in, 1))));
        t.add("STFT", 17, (n, in, v) -> one(stft(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2), Args.opt(in, 3))));
        t.add("MelWeightMatrix", 17, (n, in, v) -> one(melWeightMatrix(n, in)));
    }

    private interface Shape2 { double at(int k, int len); }

    /** w[k] for k < size with period size (periodic, the default) or size - 1 (symmetric). */
    static Variable window(OnnxNode node, Variable sizeInput, Shape2 f) {
        int size = Args.toInt(node, (long) Args.scalar(node, sizeInput, "size"), "size");
        if (size < 0) throw new OnnxException(node.describe() + ": size must be >= 0, got " + size);
        Args.checkSize(node, new int[] {size}, DType.FLOAT32);
        int period = node.attrInt("periodic", 1) != 0 ? size : size - 1;
        double[] w = new double[size];
        for (int k = 0; k < size; k++) w[k] = period == 0 ? 1 : f.at(k, period);
        DType t = Args.dtype(node, node.attrInt("output_datatype", 1));
        return Variable.of(Host.fromDoubles(t, new int[] {size}, w));
    }

    /**
     * signal (B, L, 1 or 2) -> (B, frames, bins, 2): the DFT of each frame of frame_length samples, frame_step apart,
     * times the window; frames = 1 + (L - frame_length) / frame_step, bins = frame_length / 2 + 1 when onesided.
     */
    static Variable stft(OnnxNode node, Variable signal, Variable stepInput, Variable windowInput, Variable lengthInput) {
        Grad.refuse(node, signal);
        if (signal.rank() != 3 || (signal.dim(2) != 1 && signal.dim(2) != 2)) throw new OnnxException(node.describe() + ": signal must be (B, L, 1 or 2), got " + signal.shape());
        int step = Args.toInt(node, (long) Args.scalar(node, stepInput, "frame_step"), "frame_step");
        double[] window = windowInput == null ? null : Host.doubles(windowInput.data());
        int len = lengthInput != null ? Args.toInt(node, (long) Args.scalar(node, lengthInput, "frame_length"), "frame_length")
                : window != null ? window.length : -1;
        if (len < 1 || step < 1 || len > signal.dim(1)) throw new OnnxException(node.describe() + ": needs frame_length in [1, " + signal.dim(1) + "] and frame_step >= 1");
        boolean onesided = node.attrInt("onesided", 1) != 0;
        int batch = signal.dim(0), samples = signal.dim(1), complexIn = signal.dim(2);
        int frames = 1 + (samples - len) / step, bins = onesided ? len / 2 + 1 : len;
        double[] v = Host.doubles(signal.data()), y = new double[batch * frames * bins * 2];
        for (int b = 0; b < batch; b++) {
            for (int f = 0; f < frames; f++) {
                for (int m = 0; m < bins; m++) {
                    double re = 0, im = 0;
                    for (int k = 0; k < len; k++) {
                        int at = (b * samples + f * step + k) * complexIn;
                        double w = window == null ? 1 : window[k];
                        double xr = v[at] * w, xi = complexIn == 2 ? v[at + 1] * w : 0;
                        double angle = -2 * Math.PI * ((long) m * k % len) / len;
                        re += xr * Math.cos(angle) - xi * Math.sin(angle);
                        im += xr * Math.sin(angle) + xi * Math.cos(angle);
                    }
                    int at = ((b * frames + f) * bins + m) * 2;
                    y[at] = re;
                    y[at + 1] = im;
                }
            }
        }
        return Variable.of(Host.fromDoubles(signal.data().dtype(), new int[] {batch, frames, bins, 2}, y));
    }

    /**
     * (dft_length / 2 + 1, num_mel_bins) triangular filters, evenly spaced on the mel scale (2595 log10(1 + f / 700))
     * between the edge frequencies, as the ONNX reference computes them (bin edges rounded down to DFT bins).
     */
    static Variable melWeightMatrix(OnnxNode node, Variable[] in) {
        int mels = Args.toInt(node, (long) Args.scalar(node, Args.in(node, in, 0), "num_mel_bins"), "num_mel_bins");
        int dftLength = Args.toInt(node, (long) Args.scalar(node, Args.in(node, in, 1), "dft_length"), "dft_length");
        double rate = Args.scalar(node, Args.in(node, in, 2), "sample_rate");
        double lower = Args.scalar(node, Args.in(node, in, 3), "lower_edge_hertz"), upper = Args.scalar(node, Args.in(node, in, 4), "upper_edge_hertz");
        if (mels < 1 || dftLength < 1 || rate <= 0) throw new OnnxException(node.describe() + ": needs num_mel_bins, dft_length and sample_rate > 0");
        int spectrogramBins = dftLength / 2 + 1;
        Args.checkSize(node, new int[] {spectrogramBins, mels}, DType.FLOAT32);
        double lowMel = 2595 * Math.log10(1 + lower / 700), highMel = 2595 * Math.log10(1 + upper / 700);
        double melStep = (highMel - lowMel) / (mels + 2);
        int[] edge = new int[mels + 2];
        for (int i = 0; i < edge.length; i++) {
            double hz = 700 * (Math.pow(10, (i * melStep + lowMel) / 2595) - 1);
            edge[i] = (int) Math.floor((dftLength + 1) * hz / rate);
        }
        double[] w = new double[spectrogramBins * mels];
        for (int i = 0; i < mels; i++) {
            int lo = edge[i], center = edge[i + 1], hi = edge[i + 2];
            if (center == lo) {
                set(w, center, i, mels, 1);
            } else {
                for (int j = lo; j <= center; j++) set(w, j, i, mels, (double) (j - lo) / (center - lo));
            }
            for (int j = center; j < hi; j++) set(w, j, i, mels, (double) (hi - j) / (hi - center));
        }
        DType t = Args.dtype(node, node.attrInt("output_datatype", 1));
        return Variable.of(Host.fromDoubles(t, new int[] {spectrogramBins, mels}, w));
    }

    private static void set(double[] w, int row, int col, int cols, double value) {
        if (row >= 0 && row * cols + col < w.length) w[row * cols + col] = value;
    }

    /**
     * X (..., N, 1 or 2) along {@code axis} -> (..., L, 2): y[m] = sum_k x[k] e^(-+2 pi i m k / L) (scaled by 1/L when
     * inverse), L = dft_length (x zero-padded or cut), only the first L/2 + 1 bins when onesided.
     */
    static Variable dft(OnnxNode node, Variable x, Variable lengthInput) {
        Grad.refuse(node, x);
        int r = x.rank();
        int axis = Args.axis(node, node.attrInt("axis", 1), r - 1, "axis");
        boolean inverse = node.attrInt("inverse", 0) != 0, onesided = node.attrInt("onesided", 0) != 0;
        int complexIn = x.dim(r - 1);
        if (complexIn != 1 && complexIn != 2) throw new OnnxException(node.describe() + ": the last axis must be 1 (real) or 2 (complex), got " + x.shape());
        int n = x.dim(axis);
        int len = lengthInput == null ? n : Args.toInt(node, (long) Args.scalar(node, lengthInput, "dft_length"), "dft_length");
        if (len < 1) throw new OnnxException(node.describe() + ": dft_length must be >= 1, got " + len);
        int bins = onesided ? len / 2 + 1 : len;
        int[] d = x.shape().dims();
        int outer = Host.product(d, 0, axis), inner = Host.product(d, axis + 1, r - 1);
        double[] v = Host.doubles(x.data());
        int[] outDims = d.clone();
        outDims[axis] = bins;
        outDims[r - 1] = 2;
        Args.checkSize(node, outDims, DType.FLOAT32);
        double[] y = new double[outer * bins * inner * 2];
        double sign = inverse ? 1 : -1;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                for (int m = 0; m < bins; m++) {
                    double re = 0, im = 0;
                    for (int k = 0; k < Math.min(n, len); k++) {
                        int at = ((o * n + k) * inner + i) * complexIn;
                        double xr = v[at], xi = complexIn == 2 ? v[at + 1] : 0;
                        double angle = sign * 2 * Math.PI * ((long) m * k % len) / len;
                        re += xr * Math.cos(angle) - xi * Math.sin(angle);
                        im += xr * Math.sin(angle) + xi * Math.cos(angle);
                    }
                    int at = ((o * bins + m) * inner + i) * 2;
                    y[at] = inverse ? re / len : re;
                    y[at + 1] = inverse ? im / len : im;
                }
            }
        }
        return Variable.of(Host.fromDoubles(x.data().dtype(), outDims, y));
    }

}
