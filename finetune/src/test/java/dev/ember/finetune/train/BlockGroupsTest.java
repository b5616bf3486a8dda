package dev.ember.finetune.train;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Sequential;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockGroupsTest {
    @Test void sequentialGroupsByChildAndKeepsBatchNormWithItsConv() {
        BlockGroups g = BlockGroups.of(Fixtures.cnn(4, 1));
        assertEquals(List.of("0", "4", "6"), g.names());
        assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias"), List.copyOf(g.groups().get(0).parameters().keySet()));
        assertEquals(1, g.groups().get(0).normLayers().size());
        assertInstanceOf(BatchNorm2d.class, g.groups().get(0).normLayers().get(0));
        assertEquals(List.of("6.weight", "6.bias"), List.copyOf(g.head().parameters().keySet()));
    }

    @Test void setTrainableFreezesAllButTheLastGroups() {
        BlockGroups g = BlockGroups.of(Fixtures.mlp(8, 3, 1));
        g.setTrainable(2);
        assertFalse(g.groups().get(0).parameters().values().iterator().next().requiresGrad());
        assertTrue(g.groups().get(1).parameters().values().stream().allMatch(Variable::requiresGrad));
        assertTrue(g.head().parameters().values().stream().allMatch(Variable::requiresGrad));
    }

    @Test void headReplacementKeepsASourceViewOverTheSameBackbone() {
        Sequential pretrained = Fixtures.mlp(8, 5, 1);
        Tensor x = Tensor.randn(new Rng(3), 1f, 4, 8);
        Tensor before;
        try (NoGrad g = NoGrad.enter()) {
            before = pretrained.forward(Variable.of(x)).data();
        }
        TunableModel m = Heads.replace(pretrained, 3, 0.25f, new Rng(2));
        assertEquals(List.of("0", "2", "4.1"), m.groups().names());
        try (NoGrad g = NoGrad.enter()) {
            m.model().eval();
            assertEquals(3, m.model().forward(Variable.of(x)).dim(1));
            m.sourceModel().eval();
            Tensor source = m.sourceModel().forward(Variable.of(x)).data();
            org.junit.jupiter.api.Assertions.assertArrayEquals(before.toFloatArray(), source.toFloatArray());
        }
        assertSame(((Sequential) m.model()).get(0), ((Sequential) m.sourceModel()).get(0));
    }

    @Test void chunksPutTheLastModuleInTheHead() {
        BlockGroups g = BlockGroups.chunks(Fixtures.mlp(8, 3, 1), 2);
        assertEquals("4", g.head().name());
        assertEquals(3, g.size());
        assertEquals(6, g.parameters().size());
    }

    @Test void resnet18GroupsByNodePrefixWithTheNewHeadLast() throws Exception {
        Path file = Path.of(System.getProperty("ember.shared", "../../shared"), "models", "resnet18.onnx");
        Assumptions.assumeTrue(Files.isRegularFile(file), "skipped: " + file + " not found");
        OnnxModule m = new OnnxModule(OnnxModel.read(file));
        m.replaceHead(5, new Rng(1));
        BlockGroups g = BlockGroups.of(m);
        assertEquals(List.of("/conv1/", "/layer1/", "/layer2/", "/layer3/", "/layer4/", "head"), g.names());
        assertEquals(m.parameters().size(), g.parameters().size());
    }
}
