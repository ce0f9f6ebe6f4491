package io.keybroker.rotation;

import io.keybroker.secret.SecretValue;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The test step of a rotation: {@code GET {api-base}/v1/balance} with the new key must answer 200. Any answer
 * other than 200, or no answer, fails the rotation before anything is promoted.
 */
public final class StripeKeyProbe {

    private final URI apiBase;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public StripeKeyProbe(URI apiBase) {
        this.apiBase = apiBase;
    }

    public URI balanceUri() {
        return apiBase.resolve("/v1/balance");
    }

    /** The HTTP status Stripe answered, or -1 when it could not be reached. */
    public int status(SecretValue key) {
        // The header API takes a String: it lives for this call only.
        String authorization = "Bearer " + new String(key.bytes(), StandardCharsets.UTF_8);
        try {
            return http.send(HttpRequest.newBuilder(balanceUri()).timeout(Duration.ofSeconds(20))
                    .header("Authorization", authorization).GET().build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException ex) {
            return -1;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
