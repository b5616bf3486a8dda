package dev.ember.loaders.onnx.ops;

import dev.ember.loaders.onnx.ops.OnnxConformance.CaseResult;
import dev.ember.loaders.onnx.ops.OnnxConformance.Report;
import dev.ember.loaders.onnx.ops.OnnxConformance.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs all ONNX node-test cases of {@code ../shared/onnx-node-tests}: every case of a claimed op must pass, and the
 * overall pass rate must not fall below the ratchet. Writes the report to {@code target/onnx-conformance.md}, or
 * to {@code -Dember.conformance.report=<file>} (how {@code docs/onnx-conformance.md} is regenerated).
 * Skips when the shared folder is absent.
 */
class OnnxConformanceTest {
    /** The pass rate reached; raise it when more cases pass, never lower it. */
    static final double RATCHET = 0.93;

    private static Report report;

    @BeforeAll static void runAll() throws IOException {
        Path root = Path.of(System.getProperty("ember.shared", "../shared"), "onnx-node-tests");
        assumeTrue(Files.isDirectory(root), "ONNX node tests not found at " + root.toAbsolutePath() + " (the shared folder is optional)");
        report = OnnxConformance.run(root);
        Path out = Path.of(System.getProperty("ember.conformance.report", "target/onnx-conformance.md"));
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, report.markdown());
    }

    @Test void everyCaseOfAClaimedOpPasses() {
        List<String> broken = report.cases().stream()
                .filter(c -> c.status() != Status.PASS && c.ops().stream().anyMatch(OnnxConformance.CLAIMED::contains))
                .map(c -> c.name() + " (" + c.status() + ": " + c.detail() + ")").collect(Collectors.toList());
        assertEquals(List.of(), broken, "cases of claimed ops that do not pass");
        for (String op : OnnxConformance.CLAIMED) assertTrue(report.byOp().containsKey(op), "claimed op " + op + " has no node-test case");
    }

    @Test void passRateDoesNotFallBelowTheRatchet() {
        assertEquals(922, report.cases().size(), "the shared folder holds 922 cases");
        double rate = report.passRate();
        assertTrue(rate >= RATCHET, String.format(Locale.ROOT, "pass rate %.3f fell below %.3f", rate, RATCHET));
    }

    @Test void everyCaseHasAnOpAndAReasonUnlessItPassed() {
        for (CaseResult c : report.cases()) {
            assertTrue(!c.ops().isEmpty(), c.name() + " has no op");
            assertTrue(c.status() == Status.PASS || !c.detail().isBlank(), c.name() + " " + c.status() + " without a reason");
        }
    }
}
