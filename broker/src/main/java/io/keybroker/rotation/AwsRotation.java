package io.keybroker.rotation;

import io.keybroker.secret.SecretValue;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;
import software.amazon.awssdk.services.secretsmanager.model.DescribeSecretResponse;
import software.amazon.awssdk.services.secretsmanager.model.SecretsManagerException;

/**
 * A rotation in AWS Secrets Manager, in its four steps and staging labels: createSecret (the new value as
 * AWSPENDING under a client request token, so a retry with the same token creates nothing new), setSecret (a
 * hook; Stripe needs nothing), testSecret (Stripe must accept the pending key), finishSecret (AWSCURRENT moves
 * to the new version; AWS moves AWSPREVIOUS to the old one).
 */
public final class AwsRotation {

    /** What happens between create and test; Stripe keys need nothing, other providers may. */
    @FunctionalInterface
    public interface SetSecretHook {
        void setSecret(String secretId, String versionId);
    }

    private final SecretsManagerAsyncClient client;
    private final StripeKeyTest stripe;
    private final SetSecretHook hook;
    private final PrintWriter out;

    public AwsRotation(SecretsManagerAsyncClient client, StripeKeyTest stripe, SetSecretHook hook, PrintWriter out) {
        this.client = client;
        this.stripe = stripe;
        this.hook = hook;
        this.out = out;
    }

    public RotationOutcome rotate(String secretId, SecretValue newValue, String token) {
        try {
            String current = currentVersion(secretId);
            if (token.equals(current)) {
                out.println("nothing to do: version " + token + " is already AWSCURRENT of " + secretId);
                return RotationOutcome.ROTATED;
            }
            // PutSecretValue takes a String; it lives for this call only.
            client.putSecretValue(b -> b.secretId(secretId).clientRequestToken(token)
                    .secretString(new String(newValue.bytes(), StandardCharsets.UTF_8))
                    .versionStages("AWSPENDING")).join();
            out.println("createSecret: staged version " + token + " of " + secretId + " as AWSPENDING");
            hook.setSecret(secretId, token);
            out.println("setSecret: nothing to set for a Stripe key");
            int status = stripe.status(newValue);
            out.println("testSecret: GET " + stripe.balanceUri() + " with the pending key answered "
                    + (status < 0 ? "nothing (unreachable)" : status));
            if (status != 200) {
                client.updateSecretVersionStage(b -> b.secretId(secretId).versionStage("AWSPENDING")
                        .removeFromVersionId(token)).join();
                out.println("testSecret failed: removed AWSPENDING from version " + token + "; AWSCURRENT is still "
                        + current + ". " + advice(status));
                return RotationOutcome.TEST_FAILED;
            }
            client.updateSecretVersionStage(b -> b.secretId(secretId).versionStage("AWSCURRENT")
                    .moveToVersionId(token).removeFromVersionId(current)).join();
            client.updateSecretVersionStage(b -> b.secretId(secretId).versionStage("AWSPENDING")
                    .removeFromVersionId(token)).join();
            out.println("finishSecret: AWSCURRENT -> " + token + ", AWSPREVIOUS -> " + current);
            return RotationOutcome.ROTATED;
        } catch (CompletionException ex) {
            Throwable cause = ex.getCause() == null ? ex : ex.getCause();
            String message = cause instanceof SecretsManagerException sm && sm.awsErrorDetails() != null
                    ? sm.awsErrorDetails().errorCode() + ": " + sm.awsErrorDetails().errorMessage()
                    : cause.getClass().getSimpleName();
            out.println("error: Secrets Manager refused the rotation of " + secretId + " (" + message + "); check "
                    + "keybroker.aws.region, the credentials and that they allow PutSecretValue, "
                    + "UpdateSecretVersionStage and DescribeSecret on it");
            return RotationOutcome.INVALID;
        }
    }

    private String currentVersion(String secretId) {
        DescribeSecretResponse description = client.describeSecret(b -> b.secretId(secretId)).join();
        for (Map.Entry<String, List<String>> entry : description.versionIdsToStages().entrySet()) {
            if (entry.getValue().contains("AWSCURRENT")) {
                return entry.getKey();
            }
        }
        throw new CompletionException(new IllegalStateException(secretId + " has no AWSCURRENT version"));
    }

    static String advice(int status) {
        return switch (status) {
            case 401 -> "Stripe refused the new key: check it was created in the right account and mode "
                    + "(sk_live_ for live), and copied whole.";
            case 403 -> "Stripe accepted the key but refused /v1/balance: a restricted key needs read access "
                    + "to Balance.";
            case -1 -> "Stripe could not be reached: check --stripe-api-base and the network.";
            default -> "Stripe answered " + status + "; try again, and check status.stripe.com.";
        };
    }
}
