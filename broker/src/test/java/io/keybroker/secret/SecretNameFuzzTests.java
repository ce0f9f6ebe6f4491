package io.keybroker.secret;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Fuzzes the one secret-name parser (docs/fuzzing.md). In a normal test run this replays the inputs under
 * {@code SecretNameFuzzTestsInputs/}; {@code scripts/fuzz.sh secret-name} fuzzes it.
 *
 * <p>The oracle is the SPEC grammar written independently of the parser, so that the parser and the test cannot
 * share a mistake.
 */
class SecretNameFuzzTests {

    private static final Pattern SPEC_GRAMMAR = Pattern.compile("[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*");

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"/", "..", ".", "%2F", "%2f", "%2e", "stripe/secret-key", "-", "_", "\\x00", "\\x0a", "A"})
    void shouldAcceptExactlyTheSpecGrammar(byte[] input) {
        String raw = new String(input, StandardCharsets.UTF_8);
        SecretName name;
        try {
            name = SecretName.parse(raw);
        } catch (InvalidSecretNameException ex) {
            assertThat(SPEC_GRAMMAR.matcher(raw).matches() && raw.length() <= SecretName.MAX_LENGTH)
                    .as("a name of the SPEC grammar was refused: %s", ex.getMessage()).isFalse();
            assertMessageIsSanitised(ex.getMessage(), raw);
            assertThat(SecretName.isValid(raw)).isFalse();
            return;
        }
        assertThat(raw).matches(SPEC_GRAMMAR).hasSizeLessThanOrEqualTo(SecretName.MAX_LENGTH);
        assertThat(name.segments()).doesNotContain("..", ".", "").allMatch(s -> !s.isEmpty());
        assertThat(name.value()).isEqualTo(raw).doesNotContain("%", "\\");
        assertThat(SecretName.parse(name.toString())).isEqualTo(name).hasSameHashCodeAs(name);
        assertThat(String.join("/", name.segments())).isEqualTo(raw);
        assertThat(name.isWithin(name)).isTrue();
        assertThat(SecretName.isValid(raw)).isTrue();
    }

    /**
     * The message goes into a 400 problem document and the audit log: printable ASCII only, and only a bounded
     * prefix of the input (SecretName.printable quotes at most 64 characters, once for the name and once for the
     * segment).
     */
    private static void assertMessageIsSanitised(String message, String raw) {
        assertThat(message).isNotBlank();
        assertThat(message.chars()).allMatch(c -> c >= 0x20 && c < 0x7f);
        // The fixed text is under 270 characters; two quotes of at most 67 each fit, the whole input does not.
        assertThat(message.length()).isLessThanOrEqualTo(400);
    }
}
