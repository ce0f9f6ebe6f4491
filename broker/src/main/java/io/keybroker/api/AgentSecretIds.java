package io.keybroker.api;

import io.keybroker.backend.SecretsManagerRegions;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * Turns the {@code secretId} of the AWS agent's protocol into the logical name the policy decides on, for
 * {@link AgentController} and for the listener's direct read of the same request: one resolution, so both answer
 * the same name.
 */
@Component
public class AgentSecretIds {

    /** The characters Secrets Manager allows in a secret name, and its length limit. */
    private static final Pattern AWS_NAME = Pattern.compile("[A-Za-z0-9/_+=.@-]{1,512}");
    /** arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME; NAME may carry the 6-character suffix. */
    private static final Pattern AWS_ARN = Pattern.compile(
            "arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]{1,32}):([0-9]{12}):secret:(.+)");
    private static final Pattern ARN_SUFFIX = Pattern.compile("-[A-Za-z0-9]{6}$");
    /** Secrets Manager names and ARNs name secrets of the AWS backend only. */
    private static final String AWS = "aws";

    private final SecretReader reader;
    /** The regions this broker reads Secrets Manager in; empty when it has no AWS backend. */
    private final Set<String> regions;

    public AgentSecretIds(SecretReader reader, ObjectProvider<SecretsManagerRegions> aws) {
        this.reader = reader;
        SecretsManagerRegions known = aws.getIfAvailable();
        this.regions = known == null ? Set.of() : known.regions();
    }

    /**
     * The logical name a {@code secretId} means. A Secrets Manager name or ARN means the logical name that owns
     * that backend location; otherwise the text is read as a logical name (and refused by the one parser if it
     * is none). The backend form is tried first because agent code sends the name Secrets Manager knows.
     */
    String logicalName(String secretId) {
        if (secretId.startsWith("arn:")) {
            return fromArn(secretId);
        }
        if (AWS_NAME.matcher(secretId).matches()) {
            List<SecretName> owners = reader.namesAt(AWS, secretId);
            if (owners.size() == 1) {
                return owners.get(0).value();
            }
        }
        return secretId;
    }

    private String fromArn(String arn) {
        String own = "arn:keybroker:secretsmanager:" + reader.environment() + ":keybroker:secret:";
        if (arn.startsWith(own)) {
            return arn.substring(own.length());
        }
        Matcher m = AWS_ARN.matcher(arn);
        if (!m.matches() || !AWS_NAME.matcher(m.group(4)).matches()) {
            throw new InvalidSecretNameException("secretId looks like an ARN but is not a Secrets Manager secret ARN "
                    + "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME); give the ARN Secrets Manager shows, the "
                    + "secret's name, or its Keybroker name");
        }
        if (!regions.isEmpty() && !regions.contains(m.group(2))) {
            // Fail closed: a same-named secret in another region is another secret.
            throw new InvalidSecretNameException("the ARN names a secret in region " + m.group(2) + ", but this "
                    + "broker reads Secrets Manager in " + regions.stream().sorted().toList() + "; use an ARN of "
                    + "those regions, the secret's name, or its Keybroker name");
        }
        String name = m.group(4);
        // A full ARN ends in '-' and 6 characters Secrets Manager appended; a partial ARN does not. Try the name
        // without the suffix first, as Secrets Manager resolves it.
        List<String> tries = new ArrayList<>();
        if (ARN_SUFFIX.matcher(name).find()) {
            tries.add(name.substring(0, name.length() - 7));
        }
        tries.add(name);
        for (String candidate : tries) {
            List<SecretName> owners = reader.namesAt(AWS, candidate);
            if (owners.size() == 1) {
                return owners.get(0).value();
            }
        }
        throw new InvalidSecretNameException("the secret this ARN names is not served by this broker under any "
                + "name: no keybroker.mappings entry on the aws backend (nor the default mapping, "
                + "{environment}/{name}) reaches it; use the Keybroker name the policy grants, or ask an operator "
                + "to map the secret");
    }
}
