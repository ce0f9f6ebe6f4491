package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One selector for every backend: a JSON object read as a whole value (file, AWS) and the same object inside a
 * Vault KV answer give the same field, or the same kind of refusal.
 */
class JsonFieldSelectorTests {

    private final JsonFieldSelector selector = new JsonFieldSelector();

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"key\":\"sk_test_one\"}",
        "{\"other\":1,\"key\":\"whsec_two\",\"more\":[1,2]}",
        "{\"key\":12.5}",
        "{\"key\":false}",
        "{\"key\":null}",
        "{\"key\":[\"sk_test_inArray\"]}",
        "{\"other\":\"x\"}",
        "{\"key\":\"sk_test_first\",\"key\":\"sk_test_second\"}",
        "{\"key\":\"sk_test_x\",\"other\":\"a\",\"other\":\"b\"}",
        "{\"key\":\"a\\ud800b\"}"})
    void shouldSelectTheSameFieldFromAWholeValueAndFromAVaultAnswer(String object) {
        byte[] whole = object.getBytes(StandardCharsets.UTF_8);
        byte[] vault = ("{\"data\":{\"data\":" + object + ",\"metadata\":{\"version\":1}}}")
                .getBytes(StandardCharsets.UTF_8);

        Object fromWhole = outcome(() -> selector.select(whole, new BackendLocation("aws", "prod/k", "key"), "1"));
        Object fromVault = outcome(() -> selector.selectNested(vault, List.of("data", "data"), "key", "prod/k"));

        assertThat(fromVault).isEqualTo(fromWhole);
    }

    /** The selected text, or the type of the refusal; a refusal never quotes a value. */
    private static Object outcome(java.util.function.Supplier<io.keybroker.secret.SecretValue> select) {
        Throwable refused = catchThrowable(() -> {
            throw new Selected(new String(select.get().bytes(), StandardCharsets.UTF_8));
        });
        if (refused instanceof Selected selected) {
            return selected.text;
        }
        assertThat(refused.getMessage()).doesNotContain("sk_test", "whsec");
        return refused.getClass();
    }

    /** Carries the selected text out of the lambda. */
    private static final class Selected extends RuntimeException {

        private final String text;

        Selected(String text) {
            super(null, null, false, false);
            this.text = text;
        }
    }
}
