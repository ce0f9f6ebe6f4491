package io.keybroker.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

class SafeYamlTests {

    private final SafeYaml strict = new SafeYaml(new SafeYaml.Limits(1000, 0, 3));

    @Test
    void shouldRefuseAliasesBeyondTheLimit() {
        char[] aliased = "a: &x [1, 2]\nb: *x\n".toCharArray();
        assertThatThrownBy(() -> strict.compose(aliased)).isInstanceOf(YAMLException.class);
        assertThat(new SafeYaml(new SafeYaml.Limits(1000, 1, 3)).compose(aliased)).isInstanceOf(MappingNode.class);
    }

    @Test
    void shouldRefuseDeepNestingAndLongDocuments() {
        assertThatThrownBy(() -> strict.compose("a: {b: {c: {d: 1}}}\n".toCharArray()))
                .isInstanceOf(YAMLException.class).hasMessageContaining("Nesting Depth");
        assertThatThrownBy(() -> strict.compose(("a: " + "x".repeat(2000) + "\n").toCharArray()))
                .isInstanceOf(YAMLException.class);
    }

    @Test
    void shouldBuildNoObjectFromATag() {
        assertThatThrownBy(() -> strict.compose("a: !!java.io.File /etc/passwd\n".toCharArray()))
                .isInstanceOf(YAMLException.class).hasMessageContaining("Global tag is not allowed");
        Node root = strict.compose("a: !local text\n".toCharArray());
        Node value = ((MappingNode) root).getValue().get(0).getValueNode();
        assertThat(value).isInstanceOf(ScalarNode.class);
        assertThat(SafeYaml.describe(value)).isEqualTo("a value with the YAML tag !local (tags are not allowed)");
    }

    @Test
    void shouldDecodeOnlyStrictUtf8() throws CharacterCodingException {
        assertThat(SafeYaml.decodeUtf8("é: ✓".getBytes(StandardCharsets.UTF_8))).containsExactly('é', ':', ' ', '✓');
        assertThatThrownBy(() -> SafeYaml.decodeUtf8(new byte[] {'a', (byte) 0xC3}))
                .isInstanceOf(CharacterCodingException.class);
    }

    @Test
    void shouldGiveLinesNullsAndPrintableMessages() {
        MappingNode root = (MappingNode) strict.compose("a: 1\nb:\nc: ~\nd: ''\n".toCharArray());
        assertThat(SafeYaml.line(root.getValue().get(1).getKeyNode())).isEqualTo(2);
        assertThat(SafeYaml.line((org.yaml.snakeyaml.error.Mark) null)).isZero();
        assertThat(root.getValue().stream().map(t -> SafeYaml.isNull((ScalarNode) t.getValueNode())))
                .containsExactly(false, true, true, false);
        assertThat(SafeYaml.printableMessage("found \n\u2028here")).isEqualTo("found ??here");
        assertThat(SafeYaml.printableMessage("x".repeat(500))).hasSize(300);
    }
}
