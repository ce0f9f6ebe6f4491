package io.keybroker.client;

import java.util.Arrays;

/**
 * The "fall back to the previous key" logic that zero-downtime rotation needs in application code, written once.
 *
 * <p>Runs a Stripe call with the current key. When Stripe answers 401 (the key was rolled and the new one has
 * not reached this process, or the current key is not yet valid), it asks the broker to re-read the secret and
 * retries once: with the new current key if the re-read brought one, else with the previous key. It never loops.
 *
 * <pre>{@code
 * StripeFallback stripe = new StripeFallback(broker, "stripe/secret-key");
 * StripeFallback.Result<String> balance = stripe.call(key -> {
 *     HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://api.stripe.com/v1/balance"))
 *             .header("Authorization", "Bearer " + new String(key, UTF_8)).build(), BodyHandlers.ofString());
 *     return new StripeFallback.Response<>(r.statusCode(), r.body());
 * });
 * }</pre>
 */
public final class StripeFallback {

    private final KeybrokerClient broker;
    private final String secretName;

    public StripeFallback(KeybrokerClient broker, String secretName) {
        this.broker = broker;
        this.secretName = secretName;
    }

    /** A Stripe call made with one key. */
    @FunctionalInterface
    public interface StripeCall<T> {
        /** @param key the API key's bytes; do not keep them */
        Response<T> call(byte[] key) throws Exception;
    }

    /** What Stripe answered. */
    public record Response<T>(int status, T body) {
    }

    /**
     * The outcome.
     *
     * @param response Stripe's answer to the last attempt
     * @param keyVersion the version of the key that made it
     * @param attempts 1, or 2 after a 401
     */
    public record Result<T>(Response<T> response, String keyVersion, int attempts) {
    }

    public <T> Result<T> call(StripeCall<T> call) throws Exception {
        Secret secret = broker.get(secretName);
        Secret.Version first = secret.current().or(secret::previous).orElseThrow(() ->
                new KeybrokerException(404, "No key", secretName + " has no version this workload may read", null));
        Response<T> response = attempt(call, first);
        if (response.status() != 401) {
            return new Result<>(response, first.version(), 1);
        }
        broker.refresh(secretName);
        Secret reread = broker.get(secretName);
        Secret.Version second = reread.current().filter(v -> !v.version().equals(first.version()))
                .or(reread::previous).or(secret::previous)
                .filter(v -> !v.version().equals(first.version())).orElse(null);
        if (second == null) {
            return new Result<>(response, first.version(), 1);
        }
        return new Result<>(attempt(call, second), second.version(), 2);
    }

    private static <T> Response<T> attempt(StripeCall<T> call, Secret.Version version) throws Exception {
        byte[] key = version.value();
        try {
            return call.call(key);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }
}
