package dev.ember.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TrainDemoCliTest {
    private static int run(StringWriter err, String... args) {
        CommandLine cli = TrainDemo.commandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter()));
        return cli.execute(args);
    }

    @Test
    void unknownModelIsAClearError() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "--model", "resnet"));
        assertTrue(err.toString().contains("--model must be mlp or cnn"), err.toString());
    }

    @Test
    void missingDataFolderNamesTheFixAndFails() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "--data", "/nonexistent/fashion"));
        assertTrue(err.toString().contains("dataset-fashion-mnist"), err.toString());
    }

    @Test
    void badOptionValueIsRejectedByTheParser() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "--epochs", "many"));
        assertTrue(err.toString().contains("--epochs"), err.toString());
    }
}
