import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs the test classes named on the command line through the JUnit Platform launcher, one line per test (result,
 * seconds; for a failure its message and our frames), then JUnit's summary; exit status 1 when one failed. For a GPU
 * machine without Maven. Dev tool (tools/gpu-bundle), not part of the product.
 */
public class RunTests {
    public static void main(String[] classes) {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String c : classes) request.selectors(selectClass(c));
        LauncherDiscoveryRequest built = request.build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        LauncherFactory.create().execute(built, summary, new Lines());
        summary.getSummary().printTo(new PrintWriter(System.out));
        System.exit(summary.getSummary().getTotalFailureCount() == 0 ? 0 : 1);
    }

    private static final class Lines implements TestExecutionListener {
        private final Map<String, Long> started = new HashMap<>();

        @Override public void executionStarted(TestIdentifier t) { started.put(t.getUniqueId(), System.nanoTime()); }

        @Override public void executionSkipped(TestIdentifier t, String why) {
            if (t.isTest()) System.out.printf(Locale.ROOT, "%-90s SKIPPED  %s%n", name(t), why);
        }

        @Override public void executionFinished(TestIdentifier t, TestExecutionResult r) {
            if (!t.isTest() && r.getStatus() == TestExecutionResult.Status.SUCCESSFUL) return;
            double s = (System.nanoTime() - started.getOrDefault(t.getUniqueId(), System.nanoTime())) / 1e9;
            System.out.printf(Locale.ROOT, "%-90s %-10s %6.2f s%n", name(t), r.getStatus(), s);
            r.getThrowable().ifPresent(e -> {
                System.out.println("    " + e);
                for (StackTraceElement at : e.getStackTrace()) if (at.getClassName().startsWith("dev.ember")) System.out.println("      at " + at);
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) System.out.println("    caused by " + c);
            });
        }

        /** The class's simple name and the test's display name. */
        private static String name(TestIdentifier t) {
            String parent = t.getParentId().orElse("");
            int at = parent.lastIndexOf("class:");
            String cls = at < 0 ? "" : parent.substring(at + 6).replaceAll("].*", "");
            return cls.substring(cls.lastIndexOf('.') + 1) + " " + t.getDisplayName();
        }
    }
}
