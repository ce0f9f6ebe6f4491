package io.keybroker.cli;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.SecretLocator;
import io.keybroker.backend.aws.AwsClients;
import io.keybroker.backend.aws.AwsProperties;
import io.keybroker.backend.vault.VaultConnection;
import io.keybroker.backend.vault.VaultWriter;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.rotation.AwsRotation;
import io.keybroker.rotation.RotationOutcome;
import io.keybroker.rotation.StripeKeyTest;
import io.keybroker.rotation.VaultRotation;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.SecretValue;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

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
            description = "AWS: the version id of the new value; re-running with the same token is idempotent. "
                    + "Default: a new UUID.")
    String clientRequestToken;

    @Option(names = "--expected-version", paramLabel = "N",
            description = "Vault: fail (exit 3) unless the latest version is still N. Default: the version read "
                    + "at the start.")
    Long expectedVersion;

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
            StripeKeyTest stripe = new StripeKeyTest(stripeApiBase);
            context.out().println("rotating " + name + " in " + location.backend() + " at " + location.path());
            RotationOutcome outcome = switch (location.backend()) {
                case "aws" -> rotateAws(location, value, stripe);
                case "vault" -> rotateVault(location, value, stripe);
                default -> {
                    context.err().println("error: the " + location.backend() + " backend is for development; "
                            + "append a version to its file instead (docs/file-backend.md)");
                    yield RotationOutcome.INVALID;
                }
            };
            context.out().println("result: " + outcome.name().toLowerCase().replace('_', ' '));
            return outcome.exitCode();
        } catch (ConfigurationProblemException | IllegalStateException ex) {
            context.err().println("error: " + ex.getMessage());
            return RotationOutcome.INVALID.exitCode();
        }
    }

    private RotationOutcome rotateAws(BackendLocation location, SecretValue value, StripeKeyTest stripe) {
        if (location.field() != null) {
            context.err().println("error: rotate writes the whole SecretString; the mapping selects field '"
                    + location.field() + "' of a JSON value, which rotate does not merge");
            return RotationOutcome.INVALID;
        }
        AwsProperties aws = context.binder().bindOrCreate("keybroker.aws", AwsProperties.class);
        try (SecretsManagerAsyncClient client = AwsClients.primary(aws)) {
            String token = clientRequestToken != null ? clientRequestToken : UUID.randomUUID().toString();
            return new AwsRotation(client, stripe, (id, version) -> { }, context.out())
                    .rotate(location.path(), value, token);
        }
    }

    private RotationOutcome rotateVault(BackendLocation location, SecretValue value, StripeKeyTest stripe) {
        try (VaultConnection vault = VaultConnection.fromConfiguration(context.binder())) {
            String field = location.field() != null ? location.field() : vault.properties().defaultField();
            return new VaultRotation(new VaultWriter(vault), stripe, context.out())
                    .rotate(location.path(), field, value, expectedVersion);
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
