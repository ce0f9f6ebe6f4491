package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import org.springframework.http.HttpMethod;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

/**
 * Fuzzes the way {@code GET /v1/secrets/{name}} and {@code POST /v1/secrets/{name}/refresh} take the name from the
 * request target (docs/fuzzing.md; {@code scripts/fuzz.sh secret-path}). The request goes through the same
 * {@code java.net.URI} parse that Reactor Netty applies to a request line and through Spring's request path, as
 * in the server.
 *
 * <p>What must hold for every name accepted: it is exactly the raw path after the prefix, and decoding or
 * normalising that path changes nothing, so a percent-encoded slash or dot, or a {@code ..}, can never name a
 * different secret than the one that was validated and authorised.
 */
class SecretPathFuzzTests {

    private static final String ORIGIN = "https://127.0.0.1:8443";

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"/", "..", "%2F", "%2f", "%2e", "%2E%2E", "%00", ";", "?", "#", "//", "/refresh",
            "stripe/secret-key", "%25"})
    void shouldOnlyAcceptNamesThatDecodingCannotChange(byte[] input) {
        String target = SecretsController.PREFIX + new String(input, StandardCharsets.UTF_8);
        URI uri;
        try {
            uri = new URI(ORIGIN + target);
        } catch (URISyntaxException ex) {
            return; // Reactor Netty cannot build the request's URI either: the framework answers 400
        }
        MockServerWebExchange exchange = MockServerWebExchange.from(
                MockServerHttpRequest.method(HttpMethod.GET, uri).build());
        String raw = SecretsController.rawName(exchange);
        check(uri, raw, "");
        if (raw.endsWith("/refresh")) {
            check(uri, raw.substring(0, raw.length() - "/refresh".length()), "/refresh");
        }
    }

    private static void check(URI uri, String raw, String suffix) {
        SecretName name;
        try {
            name = SecretName.parse(raw);
        } catch (InvalidSecretNameException ex) {
            assertThat(ex.getMessage().chars()).allMatch(c -> c >= 0x20 && c < 0x7f);
            return;
        }
        String rawPath = uri.getRawPath();
        assertThat(rawPath).isEqualTo(SecretsController.PREFIX + name.value() + suffix);
        assertThat(uri.getPath()).as("the decoded path names the same secret").isEqualTo(rawPath);
        assertThat(uri.normalize().getRawPath()).as("normalising the path changes nothing").isEqualTo(rawPath);
        assertThat(name.segments()).doesNotContain(".", "..", "");
    }
}
