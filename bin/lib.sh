# Shared by the scripts in bin/ and .ci/run: find JDK 25, install the data the demo and tests use.
# shellcheck shell=bash

# Sets JAVA_HOME to a JDK >= 25: $JAVA_HOME when it is one, else Temurin 25's usual place. Exits otherwise.
ember_find_jdk() {
  local cand v major
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    v=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')
    major=${v%%.*}
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$cand"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "error: ember needs a JDK 25 or newer (with javac)." >&2
  echo "  JAVA_HOME=${JAVA_HOME:-<unset>} is not one, and /usr/lib/jvm/temurin-25-jdk-amd64 does not exist." >&2
  echo "  Install JDK 25 (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
}

ember_require_maven() {
  command -v mvn >/dev/null 2>&1 || { echo "error: Maven (mvn) is needed: apt-get install maven" >&2; exit 1; }
  # Maven 3.8's bundled Guava calls sun.misc.Unsafe, which JDK 25 warns about on every build
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
}

EMBER_FASHION_DIR=/usr/share/datasets/fashion-mnist

# Installs Debian's dataset-fashion-mnist when it is missing and we may (root with apt-get); else explains.
ember_ensure_fashion_mnist() {
  [ -e "$EMBER_FASHION_DIR/train-images-idx3-ubyte.gz" ] || [ -e "$EMBER_FASHION_DIR/train-images-idx3-ubyte" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..." >&2
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null
  fi
  [ -d "$EMBER_FASHION_DIR" ] || { echo "warning: Fashion-MNIST is not installed; run: sudo apt-get install dataset-fashion-mnist" >&2; return 1; }
}

# JVM flags for every launch: the Vector API (incubator), native access for JCuda / java.lang.foreign, and a heap
# that follows the live data (BENCHMARKS.md, "peak RSS"):
# - Serial: with each step's tensors reused (TensorScope), G1 still grew its heap for throughput (CNN training step
#   745-988 MiB under G1, 267 under Serial). Serial grows its old generation rather than collect it, so what lives a
#   while and then dies piles up there; the fine-tuning loop leaves no such garbage (FineTuner, Evaluation).
# - a heap that starts at 16 MB and a young generation of at most 8 MB: the default young generation (a third of an
#   initial heap of RAM/64) is ~100 MB that JIT warm-up fills with boxed vectors. Peak RSS: CNN step 268 -> 149 MiB,
#   MLP 205 -> 100, resnet18 545 -> 453, the finetune demo 303 -> 226 MB at 32 MB; at 8 MB (a steady training step
#   leaves ~2 MB of garbage) resnet18 378 -> 356 MiB, the others and every step time unchanged.
# - no stepwise shrinking: the full collection before training gives back what loading took, at once.
EMBER_JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms16m -XX:MaxNewSize=8m
  -XX:-ShrinkHeapInSteps)
