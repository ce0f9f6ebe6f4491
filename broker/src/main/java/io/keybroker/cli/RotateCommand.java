package io.keybroker.cli;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.backend.WriteRequest;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.rotation.Rotation;
import io.keybroker.rotation.RotationOutcome;
import io.keybroker.rotation.StripeKeyProbe;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.SecretValue;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keybroker rotate}: runs one rotation of a Stripe key with the broker's own configuration. The new key
 * comes from a file or standard input, never from an argument (arguments are visible in {@code ps}), and is never
 * printed.
 */
@Command(name = "rotate", mixinStandardHelpOptions = true,
        description = "Rotate a Stripe key: stage the new key, test it against Stripe (GET /v1/balance must answer "
                + "200), promote it, keep the old one as previous. Reads the new key from --new-value-file or "
                + "standard input. Exit 0 rotated, 1 Stripe refused the key (nothing promoted), 2 configuration or "
                + "input error, 3 another rotation won.")
public final class RotateCommand implements Callable<Integer> {

    private final CliContext context;

    @Option(names = "--secret", required = true, paramLabel = "NAME", description = "Logical name, e.g. stripe/secret-key.")
    String secret;

    @Option(names = "--new-value-file", paramLabel = "FILE",
            description = "File holding the new key (one trailing newline is ignored). Default: standard input.")
    Path newValueFile;

    @Option(names = "--stripe-api-base", paramLabel = "URL", defaultValue = "https://api.stripe.com",
            description = "Stripe API base for the test step (default ${DEFAULT-VALUE}).")
    URI stripeApiBase;

    @Option(names = "--client-request-token", paramLabel = "TOKEN",
            description = "The id of the new version where the backend lets the writer choose it (AWS: the "
                    + "VersionId); re-running with the same token is idempotent. Default: the backend chooses (AWS: "
                    + "a new UUID).")
    String clientRequestToken;

    @Option(names = "--expected-version", paramLabel = "VERSION",
            description = "Fail (exit 3) unless the current version is still VERSION (Vault: the KV version "
                    + "number; AWS: the AWSCURRENT version id). Default: the version current at the start.")
    String expectedVersion;

    RotateCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        SecretName name;
        try {
            name = SecretName.parse(secret);
        } catch (InvalidSecretNameException ex) {
            context.err().println("error: --secret: " + ex.getMessage());
            return RotationOutcome.INVALID.exitCode();
        }
        byte[] raw;
        try {
            raw = readNewValue();
        } catch (IOException ex) {
            context.err().println("error: cannot read the new key: " + ex.getMessage());
            return RotationOutcome.INVALID.exitCode();
        }
        try (SecretValue value = SecretValue.adopt(raw)) {
            String problem = checkValue(value.bytes());
            if (problem != null) {
                context.err().println("error: " + problem);
                return RotationOutcome.INVALID.exitCode();
            }
            KeybrokerProperties properties = context.binder().bindOrCreate("keybroker", KeybrokerProperties.class);
            BackendLocation location = SecretLocator.from(properties).locate(name).backend();
            context.out().println("rotating " + name + " in " + location.backend() + " at " + location.path());
            RotationOutcome outcome;
            try (ConfiguredBackends backends = new ConfiguredBackends(context.binder())) {
                outcome = new Rotation(backends.get(location.backend()), new StripeKeyProbe(stripeApiBase),
                        context.out(), context.err())
                        .rotate(location, value, new WriteRequest(clientRequestToken, expectedVersion));
            }
            context.out().println("result: " + outcome.name().toLowerCase().replace('_', ' '));
            return outcome.exitCode();
        } catch (ConfigurationProblemException | IllegalStateException ex) {
            context.err().println("error: " + ex.getMessage());
            return RotationOutcome.INVALID.exitCode();
        }
    }

    private byte[] readNewValue() throws IOException {
        byte[] bytes;
        if (newValueFile != null) {
            bytes = Files.readAllBytes(newValueFile);
        } else {
            InputStream in = context.in();
            bytes = in.readNBytes(64 * 1024);
        }
        int end = bytes.length;
        if (end > 0 && bytes[end - 1] == '\n') {
            end--;
        }
        if (end > 0 && bytes[end - 1] == '\r') {
            end--;
        }
        byte[] trimmed = Arrays.copyOf(bytes, end);
        Arrays.fill(bytes, (byte) 0);
        return trimmed;
    }

    /** What is wrong with the new key, or {@code null}; never quotes the key. */
    static @Nullable String checkValue(byte[] value) {
        if (value.length == 0) {
            return "the new key is empty: give it in --new-value-file FILE or on standard input";
        }
        for (byte b : value) {
            if (b <= 0x20 || b >= 0x7f) {
                return "the new key contains whitespace or non-printable characters: check the file holds only "
                        + "the key";
            }
        }
        if (startsWith(value, "pk_")) {
            return "the new key is a publishable key (pk_); rotate the secret key (sk_) or a restricted key (rk_)";
        }
        if (!startsWith(value, "sk_") && !startsWith(value, "rk_")) {
            return "the new key does not look like a Stripe secret or restricted key (sk_... or rk_...); rotate "
                    + "tests keys against Stripe's API, so other secrets (e.g. whsec_ webhook secrets) are written "
                    + "to the backend directly";
        }
        return null;
    }

    private static boolean startsWith(byte[] value, String prefix) {
        if (value.length < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (value[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
