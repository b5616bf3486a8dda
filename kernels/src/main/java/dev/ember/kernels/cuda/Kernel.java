package dev.ember.kernels.cuda;

/**
 * Every kernel entry point of the PTX resources ({@code dev/ember/kernels/cuda/MODULE.ptx}, compiled from
 * {@code src/main/cuda/MODULE.cu}), with the module that declares it. The PTX tests check each is declared.
 */
enum Kernel {
    UNARY("elementwise", "ember_unary"),
    BINARY("elementwise", "ember_binary"),
    COPY("elementwise", "ember_copy"),
    BIAS_ACTIVATION("elementwise", "ember_bias_activation"),
    FILL("elementwise", "ember_fill"),
    SCALE("elementwise", "ember_scale"),
    AXPY("elementwise", "ember_axpy"),
    REDUCE("reduce", "ember_reduce"),
    ARGMAX("reduce", "ember_argmax"),
    SOFTMAX("softmax", "ember_softmax"),
    CROSS_ENTROPY_FORWARD("softmax", "ember_cross_entropy_forward"),
    CROSS_ENTROPY_BACKWARD("softmax", "ember_cross_entropy_backward"),
    ONE_HOT("softmax", "ember_one_hot"),
    MAX_POOL_FORWARD("pool", "ember_max_pool_forward"),
    MAX_POOL_BACKWARD("pool", "ember_max_pool_backward"),
    MAX_POOL_BACKWARD_GATHER("pool", "ember_max_pool_backward_gather"),
    AVG_POOL_FORWARD("pool", "ember_avg_pool_forward"),
    AVG_POOL_BACKWARD("pool", "ember_avg_pool_backward"),
    IM2COL("im2col", "ember_im2col"),
    COL2IM("im2col", "ember_col2im"),
    BATCH_NORM_FORWARD("norm", "ember_batch_norm_forward"),
    BATCH_NORM_BACKWARD("norm", "ember_batch_norm_backward"),
    LAYER_NORM_FORWARD("norm", "ember_layer_norm_forward"),
    LAYER_NORM_BACKWARD_INPUT("norm", "ember_layer_norm_backward_input"),
    LAYER_NORM_BACKWARD_AFFINE("norm", "ember_layer_norm_backward_affine"),
    FLIP_HORIZONTAL("augment", "ember_flip_horizontal"),
    ADD_GAUSSIAN_NOISE("augment", "ember_add_gaussian_noise"),
    SGD_STEP("optim", "ember_sgd_step"),
    ADAM_STEP("optim", "ember_adam_step"),
    SGD_STEP_MULTI("optim", "ember_sgd_step_multi"),
    ADAM_STEP_MULTI("optim", "ember_adam_step_multi"),
    SGEMM("sgemm", "ember_sgemm");

    /** Threads per block of every kernel (the .cu files' EMBER_BLOCK; sgemm's 64x64 tile uses 256 too). */
    static final int BLOCK = 256;

    final String module;
    final String entry;

    Kernel(String module, String entry) {
        this.module = module;
        this.entry = entry;
    }

    /** Class-path resource holding this kernel's PTX. */
    String resource() { return "/dev/ember/kernels/cuda/" + module + ".ptx"; }
}
